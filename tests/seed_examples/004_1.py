# seed 004 · IncorrectAdditionModel (example 1) · lesson notebooks/06_residual.ipynb
import torch
import torch.nn as nn

class IncorrectAdditionModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, kernel_size=3, padding=1)
        self.conv2 = nn.Conv2d(16, 32, kernel_size=3, padding=1)
        self.seq = nn.Sequential(self.conv1, self.conv2)


    def forward(self, x):
        # Incorrect attempt to add conv1 and conv2 outputs using nn.Sequential
        out = self.seq(x)
        # The model outputs the result of conv2, not the sum of conv1 and conv2
        return out


model_incorrect = IncorrectAdditionModel()
dummy_input = torch.randn(1, 3, 32, 32)
output_incorrect = model_incorrect(dummy_input)
print(f"Incorrect Model Output shape: {output_incorrect.shape}")
# Expected incorrect output: (1, 32, 32, 32), the output of conv2.
