# seed 002 · MySequentialStack · lesson notebooks/03_sequential.ipynb
import torch
import torch.nn as nn

class MySequentialStack(nn.Module):
    def __init__(self, input_size, hidden_size, output_size):
        super().__init__()
        self.layers = nn.Sequential(
            nn.Linear(input_size, hidden_size),
            nn.ReLU(),
            nn.Linear(hidden_size, output_size)
        )

    def forward(self, x):
        return self.layers(x)

# Example Usage:
input_size = 10
hidden_size = 20
output_size = 5
model = MySequentialStack(input_size, hidden_size, output_size)
input_tensor = torch.randn(1, input_size)
output_tensor = model(input_tensor)
print("Input Shape:", input_tensor.shape)
print("Output Shape:", output_tensor.shape)
