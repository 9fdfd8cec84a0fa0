# seed 002 · MySimpleStack · lesson notebooks/02_manual_forward.ipynb
import torch
import torch.nn as nn

class MySimpleStack(nn.Module):
    def __init__(self, input_size, hidden_size, output_size):
        super().__init__()
        self.linear1 = nn.Linear(input_size, hidden_size)
        self.relu = nn.ReLU()
        self.linear2 = nn.Linear(hidden_size, output_size)

    def forward(self, x):
        x = self.linear1(x)
        x = self.relu(x)
        x = self.linear2(x)
        return x

# Example Usage:
input_size = 10
hidden_size = 20
output_size = 5
model = MySimpleStack(input_size, hidden_size, output_size)
input_tensor = torch.randn(1, input_size) # Batch size of 1
output_tensor = model(input_tensor)
print("Input Shape:", input_tensor.shape)
print("Output Shape:", output_tensor.shape)
