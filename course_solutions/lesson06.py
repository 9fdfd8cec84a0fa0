"""Reference solutions of lesson 06's exercises: the instructor's side.

Never visible to a grading kernel (the sandbox hides this package) and left out of the
graded release; `ex.qN.solution()` shows them where they are installed.
"""

q1 = '''
class ResidualBlock(nn.Module):
    def __init__(self, channels, hidden_channels):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, hidden_channels, kernel_size=3, padding=1)
        self.conv2 = nn.Conv2d(hidden_channels, channels, kernel_size=3, padding=1)
        self.relu = nn.ReLU()

    def forward(self, x):
        out = self.conv2(self.relu(self.conv1(x)))
        return out + x
'''

q2 = '''
class DownsampleBlock(nn.Module):
    def __init__(self, in_channels, out_channels, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, kernel_size=3, stride=stride, padding=1)
        self.conv2 = nn.Conv2d(out_channels, out_channels, kernel_size=3, padding=1)
        if in_channels != out_channels or stride != 1:     # x and the branch differ in shape
            self.shortcut = nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=stride)
        else:
            self.shortcut = nn.Identity()

    def forward(self, x):
        out = self.conv2(torch.relu(self.conv1(x)))
        return out + self.shortcut(x)
'''

q3 = '''
class WeightedSum(nn.Module):
    def __init__(self, features):
        super().__init__()
        self.fc1 = nn.Linear(features, features)
        self.fc2 = nn.Linear(features, features)
        self.alpha = nn.Parameter(torch.tensor(0.5))

    def forward(self, x):
        out1 = self.fc1(x)
        out2 = self.fc2(out1)
        return self.alpha * out1 + (1 - self.alpha) * out2
'''

q4 = '''
class PreActBlock(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.relu = nn.ReLU()              # not in place: x itself must reach the sum unchanged
        self.conv1 = nn.Conv2d(channels, channels, kernel_size=3, padding=1)
        self.conv2 = nn.Conv2d(channels, channels, kernel_size=3, padding=1)

    def forward(self, x):
        out = self.conv1(self.relu(x))
        out = self.conv2(self.relu(out))
        return out + x                     # the sum returned, not thrown away
'''
