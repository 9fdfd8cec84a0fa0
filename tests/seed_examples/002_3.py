# seed 002 · MyComplexStack · lesson notebooks/05_branching.ipynb
import torch
import torch.nn as nn

class MyComplexStack(nn.Module):
    def __init__(self, input_size, hidden_size1, hidden_size2, output_size):
        super().__init__()
        self.branch1 = nn.Sequential(
            nn.Linear(input_size, hidden_size1),
            nn.ReLU()
        )
        self.branch2 = nn.Sequential(
            nn.Linear(input_size, hidden_size2),
            nn.ReLU()
        )
        self.final_linear = nn.Linear(hidden_size1 + hidden_size2, output_size)

    def forward(self, x):
        x1 = self.branch1(x)
        x2 = self.branch2(x)
        x_combined = torch.cat((x1, x2), dim=1) # Concatenate along dimension 1
        x_final = self.final_linear(x_combined)
        return x_final

# Example Usage:
input_size = 10
hidden_size1 = 15
hidden_size2 = 20
output_size = 5
model = MyComplexStack(input_size, hidden_size1, hidden_size2, output_size)
input_tensor = torch.randn(1, input_size)
output_tensor = model(input_tensor)
print("Input Shape:", input_tensor.shape)
print("Output Shape:", output_tensor.shape)
