# seed 001 · DynamicModel with nn.ModuleList (example 2) · lesson notebooks/07_dynamic_growth.ipynb
import torch
import torch.nn as nn

class DynamicModel(nn.Module):
    def __init__(self, initial_layers):
        super().__init__()
        self.layers = nn.ModuleList(initial_layers)

    def add_layer(self, layer):
        self.layers.append(layer)

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x

# Initial model
initial_layers = [nn.Linear(10, 20), nn.ReLU()]
model = DynamicModel(initial_layers)

# Add a new layer
new_layer = nn.Linear(20, 30)
model.add_layer(new_layer)

# Forward pass
input_tensor = torch.randn(1, 10)
output = model(input_tensor)
print(output.shape)
