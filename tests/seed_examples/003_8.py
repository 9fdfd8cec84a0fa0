# seed 003 · pitfall 2, correct approach (model built once) · lesson notebooks/03_sequential.ipynb
model = nn.Sequential(nn.Linear(10, 5))
for _ in range(5):
    output = model(torch.randn(1, 10))
