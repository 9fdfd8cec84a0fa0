"""Reference solutions of lesson 00's exercises: the instructor's side.

Never visible to a grading kernel (the sandbox hides this package) and left out of the
graded release; `ex.qN.solution()` shows them where they are installed.
"""

q0 = '''
def make_images(batch_size):
    return torch.zeros(batch_size, 3, 32, 32)
'''

q1 = '''
def make_grayscale(batch_size, height, width):
    return torch.zeros(batch_size, 1, height, width)
'''

q2 = '''
layer = nn.Linear(20, 7)
'''

q3 = '''
def count_parameters(model):
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return total, trainable
'''
