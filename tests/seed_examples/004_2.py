# seed 004 · CorrectAdditionModel (example 2) · lesson notebooks/06_residual.ipynb
import torch
import torch.nn as nn

class CorrectAdditionModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, kernel_size=3, padding=1)
        self.conv2 = nn.Conv2d(16, 16, kernel_size=3, padding=1)

    def forward(self, x):
        out1 = self.conv1(x)
        out2 = self.conv2(out1)
        # Explicit addition of conv1 and conv2 outputs by summing the result tensors
        added_out = out1 + out2
        return added_out

model_correct = CorrectAdditionModel()
dummy_input = torch.randn(1, 3, 32, 32)
output_correct = model_correct(dummy_input)
print(f"Correct Model Output shape: {output_correct.shape}")
#Expected correct output shape (1, 16, 32, 32) because the output channels should match to add them together.
