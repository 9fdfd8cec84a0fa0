# seed 003 · step 5, "access layers by name like model.fc1 or model['fc1']" · lesson notebooks/04_ordereddict.ipynb
model.fc1
model['fc1']
