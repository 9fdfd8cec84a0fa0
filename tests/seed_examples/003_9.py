# seed 003 · pitfall 3, wrong approach (unnamed layers) · lesson notebooks/04_ordereddict.ipynb
model = nn.Sequential(
    nn.Conv2d(3, 16, 3),
    nn.ReLU(),
    nn.Conv2d(16, 32, 3),
    nn.ReLU()
)
