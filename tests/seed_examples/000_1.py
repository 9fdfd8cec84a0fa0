# seed 000 · BranchingConvNet (example 1) · lesson notebooks/05_branching.ipynb
import torch
import torch.nn as nn

class BranchingConvNet(nn.Module):
    def __init__(self, in_channels, out_channels):
        super(BranchingConvNet, self).__init__()
        self.conv1 = nn.Conv2d(in_channels, 64, kernel_size=3, padding=1)
        self.conv2_branch1 = nn.Conv2d(64, out_channels, kernel_size=3, padding=1)
        self.conv2_branch2 = nn.Conv2d(64, out_channels, kernel_size=5, padding=2)
        self.relu = nn.ReLU()

    def forward(self, x):
        x = self.relu(self.conv1(x))
        branch1_out = self.conv2_branch1(x)
        branch2_out = self.conv2_branch2(x)
        # Concatenate outputs from both branches
        out = torch.cat((branch1_out, branch2_out), dim=1)
        return out

#Example usage:
model = BranchingConvNet(3, 128) # 3 input channels, 128 output channels
input_tensor = torch.randn(1, 3, 224, 224) # batch size 1, 3 channels, 224x224 image
output = model(input_tensor)
print(output.shape) #Observe the output shape
