# seed 003 · step 3, the nn.Sequential shortcut · lesson notebooks/03_sequential.ipynb
import torch.nn as nn

model = nn.Sequential(
    nn.Linear(10, 5),
    nn.ReLU(),
    nn.Linear(5, 2)
)
