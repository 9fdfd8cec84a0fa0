# seed 003 · pitfall 2, wrong approach (model built inside the loop) · lesson notebooks/03_sequential.ipynb
for _ in range(5):
    model = nn.Sequential(nn.Linear(10, 5))
    output = model(torch.randn(1, 10))
