"""Reference solutions of lesson 08's exercises: the instructor's side.

Never visible to a grading kernel (the sandbox hides this package) and left out of the
graded release; `ex.qN.solution()` shows them where they are installed.
"""

q1 = '''
class CapstoneNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(OrderedDict([
            ("conv", nn.Conv2d(1, 8, kernel_size=3, padding=1)),
            ("relu", nn.ReLU()),
        ]))
        self.branch = BranchBlock(8, 8)
        self.res1 = ResidualBlock(16, 24)
        self.pool = nn.MaxPool2d(2)
        self.res2 = ResidualBlock(24, 24)
        self.head = nn.Sequential(OrderedDict([
            ("flatten", nn.Flatten()),
            ("fc", nn.Linear(24 * 4 * 4, 10)),
        ]))

    def forward(self, x):
        x = self.stem(x)
        x = self.branch(x)
        x = self.res1(x)
        x = self.pool(x)
        x = self.res2(x)
        return self.head(x)
'''

q2 = '''
def train_step(model, optimizer, images, labels, max_norm):
    optimizer.zero_grad()
    loss = F.cross_entropy(model(images), labels)
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), max_norm)   # after backward, before step
    optimizer.step()
    return loss.item()
'''

q3 = '''
class SmallDigitNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(OrderedDict([
            ("conv", nn.Conv2d(1, 12, kernel_size=3, padding=1)),
            ("relu", nn.ReLU()),
        ]))
        self.branch = BranchBlock(12, 6)
        self.res1 = ResidualBlock(12, 12)
        self.pool = nn.MaxPool2d(2)
        self.res2 = ResidualBlock(12, 24)
        self.head = nn.Sequential(OrderedDict([
            ("flatten", nn.Flatten()),
            ("fc", nn.Linear(24 * 4 * 4, 10)),
        ]))

    def forward(self, x):
        x = self.res1(self.branch(self.stem(x)))
        return self.head(self.res2(self.pool(x)))
'''

q4 = '''
def generalisation_gap(model, splits):
    model.eval()
    with torch.no_grad():
        train = (model(splits.train_images).argmax(dim=1) == splits.train_labels).float().mean().item()
        test = (model(splits.test_images).argmax(dim=1) == splits.test_labels).float().mean().item()
    return 100 * (train - test)
'''
