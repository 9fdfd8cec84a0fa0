# seed 003 · pitfall 3, correct approach (named layers) · lesson notebooks/04_ordereddict.ipynb
from collections import OrderedDict
model = nn.Sequential(OrderedDict([
    ('conv1', nn.Conv2d(3, 16, 3)),
    ('relu1', nn.ReLU()),
    ('conv2', nn.Conv2d(16, 32, 3)),
    ('relu2', nn.ReLU())
]))
