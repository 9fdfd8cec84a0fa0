# seed 001 · AdaptiveLayer and DynamicModel (example 3) · lesson notebooks/07_dynamic_growth.ipynb
import torch
import torch.nn as nn

class AdaptiveLayer(nn.Module):
    def __init__(self, input_size, output_size, add_condition):
        super().__init__()
        self.add_condition = add_condition
        self.linear = nn.Linear(input_size, output_size)
        self.relu = nn.ReLU()

    def forward(self, x):
        if self.add_condition:
            x = self.linear(x)
            x = self.relu(x)
        return x


class DynamicModel(nn.Module):
    def __init__(self, input_size, initial_output_size):
        super().__init__()
        self.initial_layer = nn.Linear(input_size, initial_output_size)
        self.adaptive_layer = AdaptiveLayer(initial_output_size, 2*initial_output_size, False) #Initially disabled


    def enable_adaptive_layer(self):
        self.adaptive_layer.add_condition = True

    def forward(self,x):
      x = self.initial_layer(x)
      x = self.adaptive_layer(x)
      return x

# Example usage
model = DynamicModel(10, 20)
input_tensor = torch.randn(1,10)
output = model(input_tensor)
print(f"Initial output shape: {output.shape}") #Output will reflect only initial layer

model.enable_adaptive_layer()
output = model(input_tensor)
print(f"Output shape after enabling adaptive layer: {output.shape}") # Now the adaptive layer is active
