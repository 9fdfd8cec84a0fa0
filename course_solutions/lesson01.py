"""Reference solutions of lesson 01's exercises: the instructor's side.

Never visible to a grading kernel (the sandbox hides this package) and left out of the
graded release; `ex.qN.solution()` shows them where they are installed.
"""

q1 = '''
def linear_by_hand(x, weight, bias):
    y = x @ weight.T
    if bias is not None:
        y = y + bias
    return y
'''

q2 = '''
def conv_output_size(size, kernel_size, stride=1, padding=0, dilation=1):
    return (size + 2 * padding - dilation * (kernel_size - 1) - 1) // stride + 1
'''

q3 = '''
def conv2d_parameters(in_channels, out_channels, kernel_size, bias=True):
    kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    weights = out_channels * in_channels * kh * kw
    return weights + (out_channels if bias else 0)
'''

q4 = '''
def to_conv_layout(images):
    if images.dim() == 3:
        return images.unsqueeze(1)
    return images.permute(0, 3, 1, 2)
'''
