import torch

# Activation table: name -> (function, derivative)
FUNCS = {'relu': (lambda z: z.clamp(min=0.0), lambda z: (z > 0).to(z.dtype)),
         'sigmoid': (torch.sigmoid, lambda z: torch.sigmoid(z) * (1.0 - torch.sigmoid(z))),
         'identity': (lambda z: z, lambda z: torch.ones_like(z))}


class MLP:
    def __init__(self, linear_1_in_features, linear_1_out_features, f_function,
                 linear_2_in_features, linear_2_out_features, g_function):
        self.f_function = f_function
        self.g_function = g_function
        self.parameters = dict(
            W1=torch.randn(linear_1_out_features, linear_1_in_features),
            b1=torch.randn(linear_1_out_features),
            W2=torch.randn(linear_2_out_features, linear_2_in_features),
            b2=torch.randn(linear_2_out_features),
        )
        self.grads = dict(
            dJdW1=torch.zeros(linear_1_out_features, linear_1_in_features),
            dJdb1=torch.zeros(linear_1_out_features),
            dJdW2=torch.zeros(linear_2_out_features, linear_2_in_features),
            dJdb2=torch.zeros(linear_2_out_features),
        )
        self.cache = dict()

    def forward(self, inp):
        z1 = inp @ self.parameters['W1'].T + self.parameters['b1']   # (B, d)
        a1 = FUNCS[self.f_function][0](z1)
        z2 = a1 @ self.parameters['W2'].T + self.parameters['b2']    # (B, K)
        # store everything for the backward pass
        self.cache['inputs'] = inp
        self.cache['pre_hidden'] = z1
        self.cache['hidden'] = a1
        self.cache['pre_out'] = z2
        return FUNCS[self.g_function][0](z2)

    def backward(self, upstream):
        g2 = upstream * FUNCS[self.g_function][1](self.cache['pre_out'])
        self.grads['dJdW2'] += g2.T @ self.cache['hidden']
        self.grads['dJdb2'] += g2.sum(dim=0)
        # back through the hidden layer
        g1 = ((g2 @ self.parameters['W2'])
              * FUNCS[self.f_function][1](self.cache['pre_hidden']))
        self.grads['dJdW1'] += g1.T @ self.cache['inputs']
        self.grads['dJdb1'] += g1.sum(dim=0)

    def clear_grad_and_cache(self):
        for grad in self.grads:
            self.grads[grad].zero_()
        self.cache = dict()


def mse_loss(y, y_hat):
    diff = y_hat - y
    n = diff.numel()
    J = (diff ** 2).sum() / n   # mean squared error
    return J, 2.0 * diff / n


def bce_loss(y, y_hat):
    n = y.numel()
    p = y_hat.clamp(1e-12, 1.0 - 1e-12)
    J = -(y * torch.log(p) + (1.0 - y) * torch.log(1.0 - p)).sum() / n
    dJ = (p - y) / (p * (1.0 - p)) / n
    return J, dJ
