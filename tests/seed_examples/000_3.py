# seed 000 · DynamicLayerNet (example 3) · lesson notebooks/07_dynamic_growth.ipynb
import torch
import torch.nn as nn

class DynamicLayerNet(nn.Module):
    def __init__(self, in_features, hidden_features, out_features):
        super(DynamicLayerNet, self).__init__()
        self.linear1 = nn.Linear(in_features, hidden_features)
        self.linear2 = nn.Linear(hidden_features, out_features)
        self.relu = nn.ReLU()

    def forward(self, x, condition):
        x = self.relu(self.linear1(x))
        #Conditionally apply a layer
        if condition:
            x = self.relu(self.linear2(x))
        return x

#Example usage:
model = DynamicLayerNet(10, 20, 5)
input_tensor = torch.randn(1, 10)
output_true = model(input_tensor, True)
output_false = model(input_tensor, False)
print(output_true.shape, output_false.shape)
