# seed 004 · WeightedAdditionModel (example 3) · lesson notebooks/06_residual.ipynb
import torch
import torch.nn as nn

class WeightedAdditionModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, kernel_size=3, padding=1)
        self.conv2 = nn.Conv2d(16, 16, kernel_size=3, padding=1)
        self.alpha = nn.Parameter(torch.tensor(0.5)) # Define a learnable parameter

    def forward(self, x):
        out1 = self.conv1(x)
        out2 = self.conv2(out1)
        # Weighted addition of conv1 and conv2 outputs using learnable weights.
        added_out = self.alpha * out1 + (1 - self.alpha) * out2
        return added_out

model_weighted_addition = WeightedAdditionModel()
dummy_input = torch.randn(1, 3, 32, 32)
output_weighted_addition = model_weighted_addition(dummy_input)
print(f"Weighted Addition Model output shape: {output_weighted_addition.shape}")
# Expected output: (1, 16, 32, 32), same shape as other combined results.
