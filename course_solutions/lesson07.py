"""Reference solutions of lesson 07's exercises: the instructor's side.

Never visible to a grading kernel (the sandbox hides this package) and left out of the
graded release; `ex.qN.solution()` shows them where they are installed.
"""

q1 = '''
class ConditionalNet(nn.Module):
    def __init__(self, in_features, hidden_features, out_features):
        super().__init__()
        self.first = nn.Linear(in_features, hidden_features)
        self.extra = nn.Linear(hidden_features, hidden_features)
        self.last = nn.Linear(hidden_features, out_features)

    def forward(self, x, use_extra):
        h = torch.relu(self.first(x))
        if use_extra:
            h = torch.relu(self.extra(h))
        return self.last(h)
'''

q2 = '''
def add_layer(model, optimizer):
    new_layer = nn.Linear(model.width, model.width)
    model.layers.append(new_layer)
    optimizer.add_param_group({"params": new_layer.parameters()})
    return new_layer
'''

q3 = '''
class IdentityAtStart(nn.Module):
    def __init__(self, channels, hidden_channels):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, hidden_channels, kernel_size=3, padding=1)
        self.conv2 = nn.Conv2d(hidden_channels, channels, kernel_size=3, padding=1)
        nn.init.zeros_(self.conv2.weight)
        nn.init.zeros_(self.conv2.bias)

    def forward(self, x):
        return x + self.conv2(torch.relu(self.conv1(x)))
'''

q4 = '''
class MultiHeadNet(nn.Module):
    def __init__(self, in_features, hidden_features, heads):
        super().__init__()
        self.trunk = nn.Linear(in_features, hidden_features)
        self.heads = nn.ModuleDict(
            {name: nn.Linear(hidden_features, n) for name, n in heads.items()})

    def forward(self, x, head):
        return self.heads[head](torch.relu(self.trunk(x)))
'''

q5 = '''
class GrowingNet(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.width = width
        self.stem = nn.Linear(1, width)
        self.blocks = nn.ModuleList()
        self.head = nn.Linear(width, 1)

    def grow(self, optimizer):
        block = Block(self.width)
        nn.init.zeros_(block.project.weight)
        nn.init.zeros_(block.project.bias)
        self.blocks.append(block)
        optimizer.add_param_group({"params": block.parameters()})

    def forward(self, x):
        h = torch.relu(self.stem(x))
        for block in self.blocks:
            h = block(h)
        return self.head(h)
'''
