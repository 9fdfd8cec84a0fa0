"""Reference solutions of lesson 03's exercises: the instructor's side.

Never visible to a grading kernel (the sandbox hides this package) and left out of the
graded release; `ex.qN.solution()` shows them where they are installed.
"""

q1 = '''
def to_sequential(net):
    return nn.Sequential(net.hidden, net.act, net.output)
'''

q2 = '''
class Chain(nn.Module):
    def __init__(self, *layers):
        super().__init__()
        self.layers = nn.ModuleList(layers)

    def forward(self, x):
        outputs = []
        for layer in self.layers:
            x = layer(x)
            outputs.append(x)
        return outputs
'''

q3 = '''
class Lambda(nn.Module):
    def __init__(self, fn, *args, **kwargs):
        super().__init__()
        self.fn = fn
        self.args = args
        self.kwargs = kwargs

    def forward(self, x):
        return self.fn(x, *self.args, **self.kwargs)
'''

q4 = '''
def make_classifier():
    return nn.Sequential(
        nn.Conv2d(3, 8, kernel_size=5, stride=2, padding=1),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(8 * 7 * 7, 5),
    )
'''

q5 = '''
class TwoPaths(nn.Module):
    def __init__(self, features, n_out):
        super().__init__()
        self.path_a = nn.Sequential(nn.Linear(features, features), nn.ReLU())
        self.path_b = nn.Sequential(nn.Linear(features, features), nn.ReLU())
        self.head = nn.Linear(features, n_out)

    def forward(self, x):
        return self.head(self.path_a(x) + self.path_b(x))
'''
