"""Reference solutions of lesson 05's exercises: the instructor's side.

Never visible to a grading kernel (the sandbox hides this package) and left out of the
graded release; `ex.qN.solution()` shows them where they are installed.
"""

q1 = '''
fork_shape = (2, 3 + 8 + 16 + 4, 32, 32)   # (2, 31, 32, 32)
'''

q2 = '''
class TwoBranchNet(nn.Module):
    def __init__(self, in_features, hidden1, hidden2, out_features):
        super().__init__()
        self.branch1 = nn.Sequential(nn.Linear(in_features, hidden1), nn.ReLU())
        self.branch2 = nn.Sequential(nn.Linear(in_features, hidden2), nn.Tanh())
        self.head = nn.Linear(hidden1 + hidden2, out_features)

    def forward(self, x):
        joined = torch.cat([self.branch1(x), self.branch2(x)], dim=1)
        return self.head(joined)
'''

q3 = '''
class TwoHeadNet(nn.Module):
    def __init__(self, in_features, hidden, n_classes):
        super().__init__()
        self.trunk = nn.Sequential(nn.Linear(in_features, hidden), nn.ReLU())
        self.class_head = nn.Linear(hidden, n_classes)
        self.value_head = nn.Linear(hidden, 1)

    def forward(self, x):
        features = self.trunk(x)
        return self.class_head(features), self.value_head(features)
'''

q4 = '''
class SensorNet(nn.Module):
    def __init__(self, a_features, b_features, hidden, n_classes):
        super().__init__()
        self.branch_a = nn.Sequential(nn.Linear(a_features, hidden), nn.ReLU())
        self.branch_b = nn.Sequential(nn.Linear(b_features, hidden), nn.ReLU())
        self.head = nn.Linear(2 * hidden, n_classes)

    def forward(self, a, b):
        a_features = self.branch_a(a)
        b_features = self.branch_b(b)      # outside torch.no_grad(): autograd records it
        return self.head(torch.cat([a_features, b_features], dim=1))
'''
