"""Mitogen's linear strategy (ansible_mitogen), without its CPU pinning.

On a machine with 2 or 3 CPUs, Mitogen reserves CPU 0 for its multiplexer and pins the
controller, every worker and every process they start to CPU 1 (ansible_mitogen/affinity.py,
"small SMP"). Processes inherit that mask: the lab's containers, started by a play through
podman, ran on one CPU of two while the other stayed idle (measured with /proc/stat during a
converge: CPU 0 idle, CPU 1 busy). Without the policy every process may use every CPU, as
under Ansible's own strategies."""

import ansible_mitogen.affinity
import ansible_mitogen.loaders
import ansible_mitogen.strategy

# The base Policy assigns nothing: no process is pinned, none passes a mask on.
ansible_mitogen.affinity.policy = ansible_mitogen.affinity.Policy()

Base = ansible_mitogen.loaders.strategy_loader.get("linear", class_only=True)


class StrategyModule(ansible_mitogen.strategy.StrategyMixin, Base):
    pass
