"""mirkit.nn: layers, losses, optimisers and training, in numpy, from scratch.

Every layer follows the contract of :mod:`mirkit.nn.base`; every optimiser the contract of
:mod:`mirkit.nn.optim`; gradients are verified with :mod:`mirkit.nn.gradcheck`.
Layout: channels first, time last -- (N, D), (N, C, T), (N, C, F, T).

Lessons: lessons/01-artificial-neuron (neurons, layers), lessons/02-backpropagation (backward,
gradient checks), lessons/03-optimisation (optimisers, training), lessons/04-classification
(losses, dropout), lessons/05-convolution (convolution, pooling; fast paths in
:mod:`mirkit.nn.fast`).
"""
from .base import Layer, Parameter, Sequential
from .gradcheck import check_layer, check_loss, check_model, numerical_gradient, rel_error
from .activations import (Heaviside, Identity, LeakyReLU, ReLU, Sigmoid, Softmax, Tanh,
                          heaviside, leaky_relu, log_softmax, relu, sigmoid, softmax)
from .layers import Dense, Dropout, Neuron
from .losses import (MSE, BinaryCrossEntropyWithLogits, CategoricalCrossEntropy,
                     CosineDistance, Hinge, Loss, MulticlassHinge, SoftmaxCrossEntropy,
                     l2_penalty)
from .optim import SGD, Adagrad, Adam, AdamW, Momentum, Nesterov, Optimizer, RMSprop
from .schedules import cosine_decay, exponential_decay, step_decay
from .metrics import (accuracy, average_precision, confusion_matrix, mean_average_precision,
                      roc_auc, roc_curve)
from .train import (EarlyStopping, History, evaluate, fit, get_weights, load_weights,
                    minibatches, predict, predict_classes, save_weights, set_weights,
                    train_step)
from . import init
from .conv import (Conv1D, Conv2D, conv1d_as_matrix, conv2d_backward_fast, conv2d_backward_naive,
                   conv2d_forward_fast, conv2d_forward_naive, conv_output_shape)
from .norm import BatchNorm
from .pool import (AvgPool1D, AvgPool2D, Flatten, GlobalAvgPool, GlobalMaxPool, MaxPool1D, MaxPool2D,
                   avgpool2d_backward, avgpool2d_forward, maxpool2d_backward_fast,
                   maxpool2d_backward_naive, maxpool2d_forward_fast, maxpool2d_forward_naive)
