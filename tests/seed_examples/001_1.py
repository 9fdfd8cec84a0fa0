# seed 001 · DynamicModel with nn.Sequential.add_module (example 1) · lesson notebooks/07_dynamic_growth.ipynb
import torch
import torch.nn as nn

class DynamicModel(nn.Module):
    def __init__(self, initial_layers):
        super().__init__()
        self.layers = nn.Sequential(*initial_layers)

    def add_layer(self, layer):
        self.layers.add_module(str(len(self.layers)), layer)

    def forward(self, x):
        return self.layers(x)

# Initial model
initial_layers = [nn.Linear(10, 20), nn.ReLU()]
model = DynamicModel(initial_layers)

# Add a new linear layer and ReLU activation
new_layer = nn.Linear(20, 30)
model.add_layer(new_layer)
model.add_layer(nn.ReLU())

# Forward pass
input_tensor = torch.randn(1, 10)
output = model(input_tensor)
print(output.shape) # Output shape will reflect the added layers
