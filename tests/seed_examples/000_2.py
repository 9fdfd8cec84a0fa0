# seed 000 · ResidualBlock and ResNetLike (example 2) · lesson notebooks/06_residual.ipynb
import torch
import torch.nn as nn

class ResidualBlock(nn.Module):
    def __init__(self, in_channels, out_channels):
        super(ResidualBlock, self).__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1)
        self.conv2 = nn.Conv2d(out_channels, out_channels, kernel_size=3, padding=1)
        self.relu = nn.ReLU()

    def forward(self, x):
        residual = x
        x = self.relu(self.conv1(x))
        x = self.conv2(x)
        out = x + residual #Residual connection
        return out


class ResNetLike(nn.Module):
    def __init__(self, in_channels, out_channels):
        super(ResNetLike, self).__init__()
        self.res_block1 = ResidualBlock(in_channels, 64)
        self.res_block2 = ResidualBlock(64, out_channels)

    def forward(self,x):
        x = self.res_block1(x)
        x = self.res_block2(x)
        return x


model = ResNetLike(3, 128)
input_tensor = torch.randn(1, 3, 224, 224)
output = model(input_tensor)
print(output.shape)
