# seed 003 · pitfall 1, wrong approach (skip connection in nn.Sequential) · lesson notebooks/06_residual.ipynb
model = nn.Sequential(
    nn.Linear(10, 10),
    nn.ReLU(),
    nn.Linear(10, 10),
    nn.ReLU()
)
# Attempting to add skip connection inside nn.Sequential
