# seed 003 · pitfall 1, correct approach (SkipModel) · lesson notebooks/06_residual.ipynb
class SkipModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(10, 10)
        self.fc2 = nn.Linear(10, 10)

    def forward(self, x):
        out1 = self.fc1(x)
        out2 = self.fc2(out1) + out1 # skip connection
        return out2
