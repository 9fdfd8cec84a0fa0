"""Reference solutions of lesson 02's exercises: the instructor's side.

Never visible to a grading kernel (the sandbox hides this package) and left out of the
graded release; `ex.qN.solution()` shows them where they are installed.
"""

q1 = '''
class ThreeLayerNet(nn.Module):
    def __init__(self, in_features, hidden_features, out_features):
        super().__init__()
        self.fc1 = nn.Linear(in_features, hidden_features)
        self.fc2 = nn.Linear(hidden_features, hidden_features)
        self.fc3 = nn.Linear(hidden_features, out_features)
        self.relu = nn.ReLU()

    def forward(self, x):
        x = self.relu(self.fc1(x))
        x = self.relu(self.fc2(x))
        return self.fc3(x)
'''

q2 = '''
class DeepStack(nn.Module):
    def __init__(self, width, depth):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(width, width) for _ in range(depth)])

    def forward(self, x):
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < len(self.layers) - 1:
                x = torch.relu(x)
        return x
'''

q3 = '''
class TiedAutoencoder(nn.Module):
    def __init__(self, features, code):
        super().__init__()
        self.encoder = nn.Linear(features, code)
        self.decoder_bias = nn.Parameter(torch.zeros(features))

    def forward(self, x):
        h = torch.relu(self.encoder(x))
        return h @ self.encoder.weight + self.decoder_bias
'''

q4 = '''
def init_weights(module):
    if isinstance(module, nn.Linear):
        nn.init.xavier_uniform_(module.weight)
        nn.init.zeros_(module.bias)
    elif isinstance(module, nn.Conv2d):
        nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
        nn.init.zeros_(module.bias)
'''

q5 = '''
class ScaledMLP(nn.Module):
    def __init__(self, features, hidden):
        super().__init__()
        self.layers = nn.ModuleDict({"inp": nn.Linear(features, hidden), "out": nn.Linear(hidden, features)})
        self.scale = nn.Parameter(torch.ones(features))

    def forward(self, x):
        h = torch.relu(self.layers["inp"](x))
        return self.layers["out"](h) * self.scale
'''
