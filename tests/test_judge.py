"""The grader's judgement on its own: credit per case, stubs, hint levels, diagnoses.

These run the check's cases in this process (as the kernel would) and judge the record, so
they need no notebook and no sandbox.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from autograde.judge import judge
from autograde.references import adaptive as adaptive_ref
from autograde.references import base_check, expected
from labkit import checks
from labkit.checks.diagnose import across_cases, locate, shape_of_difference
from labkit.checks.judging import CREDIT_STEP, Verdict, cell_score


def verdict(check_id: str, answer, hints: str = "diagnosis") -> Verdict:
    spec = checks.spec(base_check(check_id))
    return judge(check_id, {"cases": checks.run_cases(spec, answer)}, hints)


def adagrad_eps_inside(x, g, sum_sq, lr, eps=1e-10):
    s = sum_sq + g * g
    return x - lr * g / np.sqrt(s + eps), s


def adagrad_uphill(x, g, sum_sq, lr, eps=1e-10):
    s = sum_sq + g * g
    return x + lr * g / (np.sqrt(s) + eps), s


def test_one_wrong_case_costs_only_its_share():
    values = verdict("adaptive.adagrad_step", adagrad_eps_inside)
    untouched = verdict("adaptive.adagrad_step.no_mutation", adagrad_eps_inside)
    n = len(checks.spec("adaptive.adagrad_step").cases())
    assert (values.cases_passed, values.cases_total, values.status) == (n - 1, n, "partial")
    assert untouched.passed
    # Part 1: 2 points, values weigh 3 and inputs 1: 1.5 * 5/6 = 1.25, plus 0.5.
    assert cell_score([values, untouched], 2.0) == pytest.approx(1.75)
    assert "1 of" not in values.message and f"{n - 1} of {n}" in values.message


def test_stubs_earn_nothing_anywhere():
    def returns_none(x, g, sum_sq, lr, eps=1e-10):
        pass

    def release_stub(x, g, sum_sq, lr, eps=1e-10):
        raise NotImplementedError()

    for stub in (returns_none, release_stub):
        found = [verdict(c, stub) for c in ("adaptive.adagrad_step",
                                            "adaptive.adagrad_step.no_mutation")]
        assert [v.status for v in found] == ["not_implemented"] * 2
        assert cell_score(found, 2.0) == 0
        assert all("not implemented yet" in v.message for v in found)


def test_inputs_are_judged_only_where_a_value_came_back():
    calls = {"n": 0}

    def half_done(x, g, sum_sq, lr, eps=1e-10):
        calls["n"] += 1
        if calls["n"] % 2:
            return None
        s = sum_sq + g * g
        return x - lr * g / (np.sqrt(s) + eps), s

    found = verdict("adaptive.adagrad_step.no_mutation", half_done)
    n = found.cases_total
    assert found.cases_passed == n // 2 and not found.passed
    assert "returned None" in found.message


def test_in_place_update_is_named_and_costs_the_cases_it_changed():
    def in_place(x, g, sum_sq, lr, eps=1e-10):
        sum_sq += g * g
        x -= lr * g / (np.sqrt(sum_sq) + eps)
        return x, sum_sq

    values = verdict("adaptive.adagrad_step", in_place)
    untouched = verdict("adaptive.adagrad_step.no_mutation", in_place)
    assert values.passed and untouched.cases_passed == 0 and untouched.mistake == "in_place"
    assert "changed its input(s) x, sum_sq in place" in untouched.message
    assert "Likely mistake" in untouched.message  # kept however many inputs changed


def test_hint_levels():
    def no_bias(x, g, m, v, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        return x - lr * m / (np.sqrt(v) + eps), m, v, t + 1

    fix = next(m.hint for m in adaptive_ref.EXPECTED["adaptive.adam_step"].mistakes
               if m.name == "no_bias_correction")
    by_level = {level: verdict("adaptive.adam_step", no_bias, level).message
                for level in ("diagnosis", "fix", "none")}
    assert fix in by_level["fix"] and fix not in by_level["diagnosis"]
    assert "no bias correction" in by_level["diagnosis"]
    assert "Likely mistake" not in by_level["none"] and "diagnosis:" not in by_level["none"]
    for message in by_level.values():  # what is shown at every level
        assert "expected:" in message and "got:" in message and "Failing input" in message


def test_uncataloged_mistakes_get_a_diagnosis_and_a_pattern():
    uphill = verdict("adaptive.adagrad_step", adagrad_uphill)
    assert uphill.mistake is None
    assert "sign flipped" in uphill.message
    eps = verdict("adaptive.adagrad_step", adagrad_eps_inside)
    assert "right for eps = 1e-10, wrong for eps = 0.01" in eps.message


def test_a_cataloged_mistake_is_recognised_when_written_another_way():
    def no_bias_most_cases(x, g, m, v, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
        # The no-correction mistake, except that the student special-cased t == 0 correctly.
        t_new = t + 1
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        if t == 0 and x.shape == (3,) and eps == 1e-3:
            return x - lr * (m / (1 - beta1)) / (np.sqrt(v / (1 - beta2)) + eps), m, v, t_new
        return x - lr * m / (np.sqrt(v) + eps), m, v, t_new

    found = verdict("adaptive.adam_step", no_bias_most_cases)
    assert found.mistake == "no_bias_correction" and found.cases_passed == 1


def test_an_experiment_dict_earns_per_key_and_shows_what_was_expected():
    wanted = adaptive_ref.EXPECTED["adaptive.final_losses"].reference_answer()
    one_off = {**wanted, "adam": wanted["adam"] * 2}
    found = verdict("adaptive.final_losses", one_off)
    assert (found.cases_passed, found.cases_total) == (2, 3)
    assert "expected:" in found.message and "['adam']" in found.message
    assert "2 times the expected" in found.message
    assert cell_score([found], 2.0) == pytest.approx(1.25)


@given(st.integers(1, 12), st.data(), st.sampled_from([0.5, 1.0, 1.5, 2.0, 3.0]))
def test_cell_score_is_monotone_and_rounded_down(n, data, points):
    k = data.draw(st.integers(0, n))
    v = Verdict("x", k == n, 1.0, "", cases_passed=k, cases_total=n,
                status="passed" if k == n else "partial")
    score = cell_score([v], points)
    assert 0 <= score <= points
    assert score <= points * k / n + 1e-9
    if k < n:
        assert score / CREDIT_STEP == pytest.approx(round(score / CREDIT_STEP))
        assert points * k / n - score < CREDIT_STEP
    else:
        assert score == points
    all_or_nothing = Verdict("x", k == n, 1.0, "", cases_passed=k, cases_total=n,
                             all_or_nothing=True)
    assert cell_score([all_or_nothing], points) == (points if k == n else 0)


# -- shapes of a difference, without a catalog ------------------------------------------------
E = np.array([1.0, -2.0, 3.5, 0.25, 4.0])


@pytest.mark.parametrize(("got", "phrase"), [
    (-E, "sign is flipped"),
    (2 * E, "2 times the expected"),
    (E / 3, "1/3 times the expected"),
    (np.r_[0.0, E[:-1]], "one step late"),
    (np.r_[E[1:], 9.0], "one step early"),
    (np.r_[7.0, E[1:]], "except at the first entry"),
    (np.r_[E[:-1], 7.0], "except at the last entry"),
    (E + 0.5, "off by the same amount, +0.5"),
    ((E * (1 + 3e-7)).astype(np.float32), "float32"),
    (np.r_[E[:2], np.nan, E[3:]], "non-finite"),
    (np.full(5, 2.0), "constant output"),
])
def test_shape_of_difference(got, phrase):
    assert phrase in shape_of_difference(E, got)


def test_shape_of_difference_sees_steps_inputs_and_transposes():
    x = np.array([1.0, 2.0, 3.0])
    step = np.array([0.1, -0.2, 0.3])
    assert "wrong way" in shape_of_difference(x - step, x + step, (x,))
    assert "10 times the expected step" in shape_of_difference(x - step, x - 10 * step, (x,))
    assert "returned unchanged" in shape_of_difference(x - step, x, (x,))
    assert "only item 1" in shape_of_difference((x, x), (x, 2 * x))
    A = np.arange(6.0).reshape(2, 3)
    assert "transpose" in shape_of_difference(A, A.T)
    assert shape_of_difference(E, E + np.array([0.3, -1.0, 0.0, 2.0, 0.1])) is None


def test_locate_finds_the_largest_error_not_only_the_first():
    wanted = np.linspace(0, 1, 200)
    got = wanted.copy()
    got[34] += 1e-7
    got[150] += 0.5
    first, worst = locate(wanted, got, rtol=1e-9, atol=1e-12)
    assert first.path == "[34]" and worst.path == "[150]"
    assert "expected 0.753769, got 1.25377" in str(worst)


def test_across_cases_names_the_separating_hyperparameter():
    cases = [checks.Case((0.1, m), ("lr", "mode")) for m in ("a", "b", "a", "b")]
    assert "wrong for mode = 'b'" in across_cases(cases, [True, False, True, False],
                                                 [0] * 4, [0] * 4)
    same = [np.ones(2)] * 4
    wanted = [np.ones(2) * i for i in range(4)]
    assert "ignores its inputs" in across_cases(cases, [False] * 4, same, wanted)


def test_cataloged_mistakes_with_array_outputs_are_recognised():
    def uphill(x, dx, lr):
        return x + lr * dx

    found = verdict("sgd.sgd_step", uphill)
    assert found.mistake == "uphill" and found.cases_passed == 0


def test_carry_forward_charges_an_upstream_mistake_once():
    mistake = next(m for m in adaptive_ref.EXPECTED["adaptive.adam_step"].mistakes
                   if m.name == "no_bias_correction")
    upstream = verdict("adaptive.adam_step", mistake.answer)
    assert upstream.mistake == "no_bias_correction"
    consistent = adaptive_ref.final_losses_with(adam_step=mistake.answer)
    spec = checks.spec("adaptive.final_losses")
    record = {"cases": checks.run_cases(spec, consistent)}
    alone = judge("adaptive.final_losses", record)
    carried = judge("adaptive.final_losses", record,
                    upstream={"adaptive.adam_step": upstream})
    assert (alone.cases_passed, alone.cases_total) == (2, 3)
    assert carried.passed and "adaptive.adam_step" in carried.message
    # A value that is wrong in its own way is not excused, and the upstream check is named.
    record = {"cases": checks.run_cases(spec, {**consistent, "adam": 123.0})}
    still_wrong = judge("adaptive.final_losses", record,
                        upstream={"adaptive.adam_step": upstream})
    assert still_wrong.cases_passed == 2 and "Upstream:" in still_wrong.message


def test_carry_forward_for_a_function_built_on_the_students_step():
    def uphill(x, dx, lr):
        return x + lr * dx

    def gradient_descent(grad_fn, x0, lr, num_steps):  # right loop, the student's own step
        path = [np.array(x0, dtype=float)]
        for _ in range(num_steps):
            path.append(uphill(path[-1], grad_fn(path[-1]), lr))
        return np.stack(path)

    step = verdict("sgd.sgd_step", uphill)
    spec = checks.spec("sgd.gradient_descent")
    with np.errstate(over="ignore"):  # climbing Rosenbrock overflows, as in the kernel
        record = {"cases": checks.run_cases(spec, gradient_descent)}
    assert not judge("sgd.gradient_descent", record).passed
    carried = judge("sgd.gradient_descent", record, upstream={"sgd.sgd_step": step})
    assert carried.passed and "sgd.sgd_step" in carried.message


def test_one_declaration_yields_the_value_check_and_its_no_mutation_check():
    from autograde.judge import judged_ids
    from autograde.references import expected

    assert judged_ids("sgd.sgd_step") == ["sgd.sgd_step", "sgd.sgd_step.no_mutation"]
    assert judged_ids("sgd.gradient_descent") == ["sgd.gradient_descent"]
    derived = expected("sgd.sgd_step.no_mutation")
    assert derived.aspect == "inputs_untouched" and derived.weight == 1
    assert [m.name for m in derived.mistakes] == ["in_place"]
    with pytest.raises(KeyError):
        expected("sgd.gradient_descent.no_mutation")


def test_an_experiment_is_computed_once_and_only_when_needed():
    from autograde.references import Computed, resolve

    calls = []
    lazy = Computed(lambda scale: calls.append(scale) or 2 * scale, scale=3)
    assert calls == []
    assert resolve(lazy) == 6 and resolve(lazy) == 6 and calls == [3]
    assert resolve(7) == 7


def test_an_in_place_upstream_function_is_charged_once():
    """sgd_step right in value but writing into x: gradient_descent built on it aliases every
    row, which is what that step gives, so only the no_mutation check loses points."""
    def sgd_step(x, dx, lr):
        x -= lr * dx
        return x

    def gradient_descent(grad_fn, x0, lr, num_steps):
        path = [np.array(x0, dtype=float)]
        for _ in range(num_steps):
            path.append(sgd_step(path[-1], grad_fn(path[-1]), lr))
        return np.stack(path)

    from autograde.judge import judged_ids

    judged = {}
    for check_id, answer in [("sgd.sgd_step", sgd_step),
                             ("sgd.gradient_descent", gradient_descent)]:
        record = {"cases": checks.run_cases(checks.spec(check_id), answer)}
        for judged_id in judged_ids(check_id):
            judged[judged_id] = judge(judged_id, record, upstream=judged)
    assert judged["sgd.sgd_step"].passed
    assert judged["sgd.sgd_step.no_mutation"].mistake == "in_place"
    assert judged["sgd.gradient_descent"].passed
    assert "sgd.sgd_step.no_mutation" in judged["sgd.gradient_descent"].message


def test_mistaken_optimizers_are_the_books_classes_with_a_wrapped_rule():
    import torch

    from autograde.references import adaptive as adaptive_ref
    from solutions.adaptive import Adam

    variant = adaptive_ref._AdamNoCorrection
    assert issubclass(variant, Adam) and variant.update is not Adam.update
    p = torch.zeros(2, requires_grad=True)
    q = torch.zeros(2, requires_grad=True)
    right, wrong = Adam([p], lr=0.1), variant([q], lr=0.1)
    for tensor, optimizer in ((p, right), (q, wrong)):
        tensor.grad = torch.tensor([1.0, -2.0])
        optimizer.step()
    # The first bias-corrected Adam step is lr·sign(g); without the correction it is not.
    assert torch.allclose(p, torch.tensor([-0.1, 0.1]))
    assert not torch.allclose(q, p)


def _function_checks() -> list[str]:
    """Every check that calls a plain function (not a class, not a reported value)."""
    import importlib
    import pkgutil

    import autograde.references as references

    ids = []
    for module in pkgutil.iter_modules(references.__path__):
        catalog = importlib.import_module(f"autograde.references.{module.name}").EXPECTED
        for check_id, exp in catalog.items():
            run = checks.spec(check_id).run
            if run in (checks.call, checks.call_keeping_inputs) and not isinstance(
                    exp.reference, type):
                ids.append(check_id)
    return sorted(ids)


def _lazy_answers(check_id: str) -> dict:
    """Answers that do no work: the first argument back, case 0's answer for every case, and
    zeros shaped like it."""
    import copy

    spec = checks.spec(check_id)
    first = spec.cases()[0]
    constant = spec.run(expected(check_id).reference_answer(), first)["value"]

    def zeros(value):
        if isinstance(value, tuple | list):
            return type(value)(zeros(v) for v in value)
        return np.zeros_like(value) if isinstance(value, np.ndarray | float | int) else value

    return {"echo": lambda *args: copy.deepcopy(args[0]),
            "constant": lambda *args: copy.deepcopy(constant),
            "zeros": lambda *args: zeros(constant)}


@pytest.mark.parametrize("check_id", _function_checks())
def test_no_function_check_is_passed_without_the_work(check_id):
    for name, answer in _lazy_answers(check_id).items():
        found = verdict(check_id, answer)
        assert not found.passed, f"{check_id} passes an answer that returns {name}"


def test_every_cataloged_mistake_has_a_diagnosis_that_is_not_its_fix():
    """The default hint level names each recognised mistake and its symptom: every cataloged
    mistake has a diagnosis of its own, different from the fix its hint gives."""
    import importlib
    import pkgutil

    import autograde.references as references

    seen = 0
    for module_info in pkgutil.iter_modules(references.__path__):
        module = importlib.import_module(f"{references.__name__}.{module_info.name}")
        for check_id, exp in module.EXPECTED.items():
            for mistake in exp.mistakes:
                seen += 1
                where = f"{check_id}: {mistake.name}"
                assert mistake.diagnosis.strip(), f"{where} has no diagnosis"
                assert mistake.diagnosis != mistake.hint, f"{where}: the diagnosis is the fix"
    assert seen
