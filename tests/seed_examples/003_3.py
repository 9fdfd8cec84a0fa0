# seed 003 · step 5, naming layers with OrderedDict · lesson notebooks/04_ordereddict.ipynb
from collections import OrderedDict
import torch.nn as nn

model = nn.Sequential(OrderedDict([
    ('fc1', nn.Linear(10, 5)),
    ('relu', nn.ReLU()),
    ('fc2', nn.Linear(5, 2))
]))
