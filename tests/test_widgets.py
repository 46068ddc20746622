"""mirkit.widgets.interact: real sliders for people, one plain call when headless."""
import ipywidgets
import pytest

from mirkit import widgets


def show(lr=0.1, steps=300, name="adam", scale=2.0):
    return (lr, steps, name, scale)


def test_headless_calls_once_with_the_start_values(monkeypatch):
    monkeypatch.setenv(widgets.HEADLESS_ENV, "1")
    slider = ipywidgets.FloatLogSlider(value=1e-3, base=10, min=-5, max=-1)
    out = widgets.interact(show, lr=slider, steps=(50, 2000, 50), name=["sgd", "adam"], scale=(1.0, 5.0))
    # a built widget gives its value; a tuple or list gives the function's default, as ipywidgets does
    assert out == (1e-3, 300, "adam", 2.0)


def test_headless_without_defaults_takes_what_ipywidgets_would():
    def f(n, mode, x):
        return n, mode, x

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(widgets.HEADLESS_ENV, "1")
        assert widgets.interact(f, n=(0, 10), mode=[("slow", 1), ("fast", 2)], x=0.5) == (5, 1, 0.5)


def test_headless_rejects_unknown_controls(monkeypatch):
    monkeypatch.setenv(widgets.HEADLESS_ENV, "1")
    with pytest.raises(TypeError, match="no parameter"):
        widgets.interact(show, learning_rate=(0.0, 1.0))


def test_with_a_person_it_is_ipywidgets_interact(monkeypatch):
    monkeypatch.delenv(widgets.HEADLESS_ENV, raising=False)
    calls = []
    w = widgets.interact(lambda steps=10: calls.append(steps), steps=(1, 20))
    assert isinstance(w, ipywidgets.interactive) or callable(w)
    assert calls == [10]  # ipywidgets runs the function once with the start value
    assert not widgets.headless()
