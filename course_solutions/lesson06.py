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
class ProjectionBlock(nn.Module):
    def __init__(self, in_channels, out_channels):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1)
        self.conv2 = nn.Conv2d(out_channels, out_channels, kernel_size=3, padding=1)
        if in_channels != out_channels:
            self.shortcut = nn.Conv2d(in_channels, out_channels, kernel_size=1)
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
class DownBlock(nn.Module):
    def __init__(self, in_channels, out_channels):
        super().__init__()
        self.branch = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1), nn.ReLU(),
            nn.Conv2d(out_channels, out_channels, kernel_size=3, padding=1),
        )
        if in_channels != out_channels:
            self.shortcut = nn.Conv2d(in_channels, out_channels, kernel_size=1)
        else:
            self.shortcut = nn.Identity()

    def forward(self, x):
        return self.branch(x) + self.shortcut(x)
'''
