"""Reference solutions of lesson 04's exercises: the instructor's side.

Never visible to a grading kernel (the sandbox hides this package) and left out of the
graded release; `ex.qN.solution()` shows them where they are installed.
"""

q1 = '''
def name_layers(model, names):
    return nn.Sequential(OrderedDict(zip(names, model)))
'''

q2 = '''
def remap_keys(state_dict, mapping):
    renamed = OrderedDict()
    for key, value in state_dict.items():
        for old, new in mapping.items():
            if key.startswith(old + "."):      # inside module `old`, at any depth
                key = new + key[len(old):]
                break
        renamed[key] = value
    return renamed
'''

q3 = '''
def freeze(model, names):
    for name, param in model.named_parameters():
        if name.split(".")[0] in names:
            param.requires_grad_(False)
'''

q4 = '''
def load_named(saved):
    model = nn.Sequential(OrderedDict([
        ("fc1", nn.Linear(6, 8)), ("relu1", nn.ReLU()),
        ("fc2", nn.Linear(8, 8)), ("relu2", nn.ReLU()),
        ("head", nn.Linear(8, 3)),
    ]))
    mapping = {"0": "fc1", "2": "fc2", "4": "head"}
    renamed = OrderedDict()
    for key, tensor in saved.items():
        module, rest = key.split(".", 1)
        renamed[mapping[module] + "." + rest] = tensor
    model.load_state_dict(renamed)
    return model
'''
