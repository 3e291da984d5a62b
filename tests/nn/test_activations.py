import pytest
import torch

from graphnn.nn.activations import ACTIVATIONS, get_activation


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_every_activation_is_elementwise_and_twice_differentiable(name):
    x = torch.linspace(-3, 3, 7, dtype=torch.float64, requires_grad=True)
    f = get_activation(name)
    y = f(x)
    assert y.shape == x.shape
    torch.testing.assert_close(f(x[2:4]), y[2:4])
    assert torch.autograd.gradgradcheck(f, (x + 0.01,))  # away from relu's kink at 0


def test_named_slopes():
    x = torch.tensor([-3.0])
    assert get_activation("leaky_relu")(x).item() == pytest.approx(-0.03)
    assert get_activation("very_leaky_relu")(x).item() == pytest.approx(-1.0)
    assert get_activation("identity")(x).item() == -3.0


def test_unknown_activation():
    with pytest.raises(ValueError, match="unknown activation 'swish'; accepted: identity, relu"):
        get_activation("swish")


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_closed_form_derivatives_match_autograd(name):
    from graphnn.nn.activations import ACTIVATION_GRADS

    z = torch.linspace(-25, 25, 401, dtype=torch.float64)
    z = z[z.abs() > 1e-6].requires_grad_()  # not at the kink of the relus
    a = ACTIVATIONS[name](z)
    g = torch.randn_like(z)
    (expected,) = torch.autograd.grad(a, z, g)
    torch.testing.assert_close(ACTIVATION_GRADS[name](z.detach(), a.detach(), g), expected)
    assert set(ACTIVATION_GRADS) == set(ACTIVATIONS)


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_in_place_application_and_derivatives_from_the_activation_alone(name):
    from graphnn.nn.activations import ACTIVATION_GRADS, NEEDS_PREACTIVATION, apply_inplace

    z = torch.linspace(-4, 4, 81, dtype=torch.float64)
    t = z.clone()
    apply_inplace(name, t)
    torch.testing.assert_close(t, ACTIVATIONS[name](z))
    if name not in NEEDS_PREACTIVATION:
        g = torch.randn_like(z)
        torch.testing.assert_close(
            ACTIVATION_GRADS[name](None, t, g), ACTIVATION_GRADS[name](z, t, g)
        )
