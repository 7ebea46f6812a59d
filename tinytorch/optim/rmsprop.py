"""RMSprop (optionally centered, with momentum), step for step as torch.optim.RMSprop."""
from __future__ import annotations

from .checks import non_negative
from .counted import CountedOptimizer, zeros_state
from .update_math import Update, assign


class RMSprop(CountedOptimizer):
    def __init__(self, params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8, weight_decay: float = 0,
                 momentum: float = 0, centered: bool = False, maximize: bool = False):
        non_negative("RMSprop", lr=lr, eps=eps, momentum=momentum, weight_decay=weight_decay, alpha=alpha)
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
                                      centered=centered, maximize=maximize))

    def _new_state(self, p, group):
        state = {"square_avg": zeros_state(p)}
        if group["momentum"] > 0:
            state["momentum_buffer"] = zeros_state(p)
        if group["centered"]:
            state["grad_avg"] = zeros_state(p)
        return state

    def _advance(self, group, state, lr):
        step, _ = self._next_step(state)  # counted for state_dict's sake; the update does not read it
        return [step], (lr,)

    def _update(self, p, grad, group, state, lr, lr_cast):
        alpha, eps, wd = group["alpha"], group["eps"], group["weight_decay"]
        u = Update(p)
        grad = u.neg(grad) if group["maximize"] else u.node(grad)
        if wd:
            grad = u.add(grad, u.mul(p, wd))
        sq = state["square_avg"]
        assign(sq, u.add(u.mul(sq, alpha), u.mul(u.mul(grad, 1 - alpha), grad)))
        out = [sq]
        if group["centered"]:
            gavg = state["grad_avg"]
            assign(gavg, u.lerp(gavg, grad, 1 - alpha))
            out.append(gavg)
            avg = u.sqrt(u.sub(sq, u.mul(gavg, gavg)))
        else:
            avg = u.sqrt(sq)
        avg = u.add(avg, eps)
        if group["momentum"] > 0:
            buf = state["momentum_buffer"]
            assign(buf, u.add(u.mul(buf, self._hyper(group, "momentum", p.dtype)), u.div(grad, avg)))
            out.append(buf)
            assign(p, u.sub(p, u.mul(buf, lr_cast)))
        else:
            assign(p, u.sub(p, u.div(u.mul(grad, lr_cast), avg)))
        return out + [p]
