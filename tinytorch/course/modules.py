"""The twenty course modules, as data: what each builds, where its exercises are, and what grades them.

Each module's exercises are regions marked in the source (regions.py); the framework's own tests grade them.
Grading tests are pytest node ids under tests/; a hidden one is left out of the
notebook NBGrader releases to students and run when it autogrades; `run` is a short real training run (also a
node id) that only works if the student's code is right.
"""
from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Grade:
    test: str  # a pytest node id, relative to the repository root
    hint: str  # what to look at when it fails
    points: int = 1
    hidden: bool = False  # NBGrader: the test cell is in the instructor's notebook, not the student's


@dataclasses.dataclass(frozen=True)
class Module:
    number: int
    title: str
    chapter: str  # relative to the repository root
    regions: tuple  # exercise region names, all m<number>.*
    grading: tuple  # Grade
    thinking: str  # the "ML Systems Thinking" question
    command: str  # the command that answers it on the student's machine
    figure: str  # what that command measures
    run: str = ""  # a short real training run (a node id) graded with the tests, or ""

    @property
    def complete(self) -> bool:
        """Its exercises are marked (all twenty are; tests/test_course.py keeps it so)."""
        return bool(self.regions)

    def tests(self) -> list:
        return [g.test for g in self.grading] + ([self.run] if self.run else [])


def _g(test, hint, points=1, hidden=False):
    return Grade(test, hint, points, hidden)


GC = "tests/test_gradcheck.py::"
THINK = "python -m tinytorch.course.thinking "

MODULES = (
    Module(1, "Tensors and broadcasting", "chapters/01-tensors-and-broadcasting.md", ("m01.broadcast_two",), (
        _g("tests/test_broadcast_props.py::test_binary_broadcast_matches_numpy",
           "align the shapes from the right: pad the shorter with leading 1s, then each pair of sizes must be "
           "equal or one of them 1 (the result takes the other)", 2),
        _g("tests/test_broadcast_props.py::test_random_shape_pairs_broadcast_or_raise_at_build",
           "return None (not a shape, not an exception) when a pair of sizes differs and neither is 1: "
           "broadcast_shapes turns None into the error message naming the op and the shapes"),
        _g("tests/test_broadcast_props.py::test_where_broadcasts_three_ways",
           "broadcast_shapes folds _broadcast_two over every operand: a 0-d shape () broadcasts with anything",
           hidden=True),
    ), "What does broadcasting cost? x + row reads the row through an expand view (stride 0) instead of "
       "a full copy.", THINK + "1", "time and bytes read of x + row (a broadcast view) against x + a materialized copy"),
    Module(2, "Elementwise ops and the op table", "chapters/02-elementwise-ops.md",
           ("m02.max_vjp", "m02.pow_vjp", "m02.where_vjp"), (
        _g(GC + "test_matches_torch[pow_both]", "d(a**b)/da = b * a**(b-1) and d(a**b)/db = a**b * log(a); "
           "follow torch where b == 0 or a == 0", 2),
        _g(GC + "test_matches_finite_differences[pow_broadcast]",
           "the VJP gets the output's gradient g at the operands' (already broadcast) shape: multiply, don't sum"),
        _g("tests/test_autograd.py::test_ties_follow_torch",
           "maximum: the larger operand takes g; on a tie each takes half, as torch.maximum"),
        _g("tests/test_autograd.py::test_relu_at_zero_has_gradient_zero_like_torch",
           "relu is maximum(x, 0, arg='strict'): with n.arg == 'strict' the first operand takes g only where it "
           "is strictly greater, so relu'(0) == 0"),
        _g(GC + "test_matches_torch[where]", "where(c, a, b): a gets g where c holds and 0 elsewhere, b the rest; "
           "the bool condition gets None", hidden=True),
    ), "What does fusing a chain of elementwise ops buy? NumPy op by op writes a temporary per op; the compiler "
       "runs the chain as one loop.", THINK + "2",
       "time of an 8-op elementwise chain: NumPy op by op (8 temporaries) against TinyTorch's one fused kernel"),
    Module(3, "Autograd", "chapters/03-autograd.md", ("m03.topo_walk", "m03.vjp_walk"), (
        _g("tests/test_autograd.py::test_shared_subexpression_sums_both_paths",
           "a node used twice gets the sum of both users' gradients: accumulate with add, never overwrite", 2),
        _g("tests/test_autograd.py::test_backward_twice_accumulates",
           "walk the nodes in reverse topological order so a node's gradient is complete before its VJP runs"),
        _g("tests/test_autograd.py::test_detach_blocks",
           "do not enter detach nodes (the stop function) in the walk or in the VJP loop"),
        _g("tests/test_autograd.py::test_grad_with_respect_to_an_intermediate",
           "toposort must keep sources before users and visit each node once (ids in `seen`)"),
        _g(GC + "test_matches_torch[layernorm]", "a layer norm's gradients: if the small tests pass and this fails, "
           "check the order: sources before users in toposort, reversed in the VJP walk", hidden=True),
    ), "What does backward cost? It keeps the forward's activations alive and roughly doubles the graph.",
       THINK + "3", "graph nodes and time of forward alone against forward + backward of an MLP",
       run="tests/test_train_real.py::test_digits_adam_loss_falls_and_matches_pytorch"),
    Module(4, "Layers and activations", "chapters/04-layers.md", ("m04.linear", "m04.layer_norm", "m04.gelu"), (
        _g("tests/test_nn.py::test_functional_forms",
           "linear is input @ weight.T + bias (weight is (out_features, in_features), bias may be None); a last dim "
           "that is not in_features raises ValueError naming the shapes and 'in_features'", 2),
        _g("tests/test_nn.py::test_layernorm",
           "layer_norm: mean and the biased variance (divide by n, not n - 1) over the last dims `dims`, keepdim, "
           "then (x - mean) * rsqrt(var + eps), then * weight and + bias when given", 2),
        _g(GC + "test_matches_torch[gelu]", "gelu(x) = 0.5 x (1 + erf(x / sqrt(2))): the exact form, torch's default "
           "(relu is only its limit for large |x|)"),
        _g(GC + "test_matches_torch[gelu_tanh]", "approximate='tanh': 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))"),
        _g("tests/test_nn.py::test_linear_and_activations", "nn.Linear and nn.GELU against torch's in a Sequential: "
           "if the functional tests pass and this fails, check bias=False (bias is None) and both GELU forms",
           hidden=True),
    ), "How many parameters and bytes does each layer hold? LeNet-5's parameters sit in its fully connected layers, "
       "its convolutions hold few weights but do most of the arithmetic.", THINK + "4",
       "parameters, bytes and multiply-adds per layer of LeNet-5 (MNIST, 32x32)",
       run="tests/test_train_real.py::test_digits_adam_loss_falls_and_matches_pytorch"),
    Module(5, "Losses", "chapters/05-losses.md", ("m05.logsumexp", "m05.cross_entropy", "m05.bce_logits"), (
        _g("tests/test_stable_losses.py::test_log_softmax_and_cross_entropy_at_large_logits_match_torch",
           "logsumexp: subtract the max (detached) before exp and add it back after the log, so exp never sees a "
           "number above 0; a row whose max is +-inf shifts by 0", 2),
        _g("tests/test_nn.py::test_cross_entropy",
           "cross_entropy is nll_loss of log_softmax over the class dim; label smoothing mixes in -(sum of logp) / C "
           "over the targets that are not ignore_index, weighted like the nll term", 2),
        _g("tests/test_nn.py::test_cross_entropy_spatial_and_probability_targets",
           "probability targets (a float target of the input's shape): the loss is -(target * logp) summed over "
           "the class dim (dim 1: (N, C, d...) inputs), then reduced"),
        _g("tests/test_stable_losses.py::test_bce_with_logits_at_large_logits_matches_torch",
           "-log(sigmoid(x)) = max(-x, 0) + log(1 + exp(-|x|)): exp of a negative number never overflows"),
        _g("tests/test_nn.py::test_other_losses", "binary_cross_entropy_with_logits with pos_weight: the positive "
           "term's log_sig_neg is scaled by 1 + (pos_weight - 1) * target", hidden=True),
    ), "Why log-softmax and not log(softmax)? At large logits exp overflows: the naive loss is inf or NaN, and so "
       "is its gradient.", THINK + "5",
       "cross-entropy loss and gradient at logits of growing scale, log(softmax) against log_softmax",
       run="tests/test_train_real.py::test_digits_adam_loss_falls_and_matches_pytorch"),
    Module(6, "Optimizers and their memory", "chapters/06-optimizers.md", ("m06.adam_update",), (
        _g("tests/test_optim.py::test_matches_torch_for_20_steps[Adam-lr]",
           "m = beta1 m + (1 - beta1) g (a lerp), v = beta2 v + (1 - beta2) g*g, then "
           "p -= (lr / (1 - beta1**t)) m / (sqrt(v) / sqrt(1 - beta2**t) + eps): step_size and bias2_sqrt are given", 2),
        _g("tests/test_optim.py::test_matches_torch_for_20_steps[Adam-lr-weight_decay-betas]",
           "Adam's weight decay adds wd * p to the gradient before the moments (AdamW's is already done above)"),
        _g("tests/test_optim.py::test_matches_torch_for_20_steps[Adam-lr-amsgrad]",
           "AMSGrad keeps the running maximum of v (state['max_exp_avg_sq']) and divides by its square root"),
        _g("tests/test_optim.py::test_matches_torch_for_20_steps[AdamW-lr]",
           "AdamW runs the same update on the decayed `param`, not on `p`", hidden=True),
        _g("tests/test_optim.py::test_state_bytes", "every state tensor you write must be assigned back (assign) and "
           "returned, with p, so the step realizes it"),
    ), "Adam's 3x memory: parameters + two moments (4x with AMSGrad).", "python benchmarks/bench_optimizers.py",
       "optimizer state bytes against parameter bytes, and the step time of each optimizer"),
    Module(7, "Training loops, checkpoints and monitoring", "chapters/07-training.md",
           ("m07.step", "m07.train_epoch", "m07.atomic_write"), (
        _g("tests/test_train_real.py::test_trainer_logs_checkpoints_and_resumes_exactly",
           "_step: forward, loss, the detached accuracy count, zero_grad, backward, optimizer.step, return (loss, "
           "correct); train_epoch: set the loader's epoch first (a resumed run must see the same order), sum "
           "loss * len(y) per batch and divide by the samples seen", 3),
        _g("tests/test_checkpoint.py::test_a_crash_mid_write_keeps_the_last_good_checkpoint",
           "write to a temp file in the same directory (tempfile.mkstemp), flush and fsync it, then os.replace it "
           "over `path`: a crash before the rename leaves the old file whole; on any error unlink the temp", 2),
        _g("tests/test_step_overhead.py::test_trainer_captured_step_gives_the_uncaptured_results",
           "the captured step (compile=True) replays _step's graph: _step must return tensors, not Python numbers"),
        _g("tests/test_checkpoint.py::test_interrupt_mid_write_keeps_the_old_file_and_no_temp",
           "KeyboardInterrupt is a BaseException, not an Exception: catch BaseException to unlink the temp file",
           hidden=True),
    ), "Compiled against eager: what does capturing the step buy, and does memory stay flat across steps?",
       THINK + "7", "Trainer step time, captured (compile=True) against uncaptured and eager, and resident memory "
       "over 600 steps", run="tests/test_train_real.py::test_example_default_run_is_quick_and_learns"),
    Module(8, "Data loading", "chapters/08-data.md", ("m08.order", "m08.batches", "m08.random_crop"), (
        _g("tests/test_data.py::test_loader_batches_cover_everything_once_with_settled_dtypes",
           "__iter__: take the epoch's order, advance self.epoch, then yield _batch of consecutive slices of "
           "batch_size indices; the last one may be short", 2),
        _g("tests/test_data.py::test_drop_last_and_numpy_output",
           "drop_last: stop at len(self) * batch_size, so a short last batch is not yielded"),
        _g("tests/test_data.py::test_shuffle_is_a_permutation_reproducible_by_seed_and_epoch",
           "shuffle: a permutation from np.random.default_rng((self.seed, epoch)): the same seed and epoch give "
           "the same order (a resumed run), the next epoch another", 2),
        _g("tests/test_data.py::test_random_crop_picks_a_window_of_the_padded_image",
           "random crop: one offset (dy, dx) per image from self.rng.integers (dy first, then dx), in "
           "[0, h - ch] and [0, w - cw]; sliding_window_view gives every window, index it per sample"),
        _g("tests/test_data.py::test_shuffle_with_a_generator_and_with_manual_seed",
           "a `generator` given to the loader is used as it is (its state advances from epoch to epoch)", hidden=True),
    ), "Is the loader or the step the bottleneck? A batch's indexing, transform and copy against the step it feeds.",
       THINK + "8", "CIFAR-10 loader time per batch (no transform, normalize, augment) against an MLP's and a "
       "CNN's training step", run="tests/test_train_real.py::test_example_default_run_is_quick_and_learns"),
    Module(9, "Convolution and CNNs", "chapters/09-convolution.md", ("m09.windows", "m09.pool_size"), (
        _g("tests/test_conv_kernels.py::test_forward_and_both_gradients_match_torch",
           "_windows is as_strided over the padded images: shape (m, C, kh, kw, oh, ow); a step along kh moves "
           "dilation rows, a step along oh moves stride rows (strides s[2]*dh, s[3]*dw, s[2]*sh, s[3]*sw)", 2),
        _g("tests/test_nn.py::test_conv2d", "nn.Conv2d runs the conv2d op, whose NumPy routine multiplies the "
           "window matrix _im2col copies from your view: check stride and dilation are not swapped"),
        _g("tests/test_cnn_ops.py::test_max_pool2d_ceil_mode_and_indices",
           "out = floor((size + 2p - d(k-1) - 1) / s) + 1; with ceil_mode round up, but drop a last window that "
           "would start past the input and its left padding ((out - 1) * s >= size + p)"),
        _g("tests/test_nn.py::test_pools", "MaxPool2d and AvgPool2d take their output size from _pool_size: "
           "PyTorch's formula, padding on both sides", hidden=True),
    ), "im2col's memory: the window matrix holds each input pixel k*k times (over the stride squared); what does "
       "the tiled routine keep instead, and what does the convolution cost?", THINK + "9",
       "the bytes of the im2col matrix against the input and the tiled routine's scratch; the arena peak and "
       "time of one 3x3 layer's forward + backward, unfold + matmul against the conv2d op",
       run="tests/test_milestones.py::test_quick_run_finishes_and_its_loss_falls[lenet5-1998]"),
    Module(10, "The lazy graph and IR", "chapters/10-graph-and-ir.md", ("m10.hash_cons", "m10.argkey"), (
        _g("tests/test_hash_cons.py::test_the_same_expression_is_the_same_node_and_runs_once",
           "make looks the key (op, srcs, shape, dtype, _argkey(arg)) up in _TABLE and returns the live node it "
           "finds; only on a miss does it build the node (and store it)", 2),
        _g("tests/test_hash_cons.py::test_the_table_holds_exactly_the_live_nodes",
           "store a weak reference, _Entry(n, _forget) with entry.key = key, so the table never keeps a node "
           "alive; a dead reference's call returns None: build a new node then"),
        _g("tests/test_hash_cons.py::test_args_python_calls_equal_make_different_nodes",
           "-0.0 == 0.0 and 1.0 == True in Python, with equal hashes: _argkey tags a float by its hex() and a "
           "bool apart, and rebuilds a tuple that holds either (recursively), else returns arg itself", 2),
        _g("tests/test_hash_cons.py::test_plus_zero_and_plus_minus_zero_stay_apart_in_value",
           "the Program cache's structural key (realizer._sid) uses _argkey too: if x + 0.0 and x + (-0.0) share "
           "a key, the second reuses the first's Program and its embedded constant"),
        _g("tests/test_step_overhead.py::test_a_pinned_constant_that_gets_computed_is_let_go",
           "a `unique` node (a buffer leaf, an assign) is never looked up nor stored in the table; every other "
           "node is", hidden=True),
    ), "What does building the graph cost against compiling and running it, and what does the Program cache "
       "(a hit on the graph's structural key) save?", THINK + "10",
       "build, compile and run time of one MLP training step: a cache miss against a hit",
       run="tests/test_train_real.py::test_digits_adam_loss_falls_and_matches_pytorch"),
    Module(11, "Constant folding and rewrites", "chapters/11-folding.md", ("m11.rewrite", "m11.evaluate"), (
        _g("tests/test_passes.py::test_identities_fold_to_the_input",
           "_rewrite leaves inputs, never-folded and embedded ops alone, evaluates a node whose sources are all "
           "constants, and otherwise returns the first matching rule's result (first_match(n, g, _RULES_BY_OP))", 2),
        _g("tests/test_passes.py::test_constant_subgraph_evaluates_to_a_scalar_const",
           "_evaluate: an elementwise op of scalar consts is computed on 0-d arrays (OPS[op].numpy) into a const "
           "of the node's shape; a uniform result is a const, whatever its size"),
        _g("tests/test_passes.py::test_causal_mask_and_mean_scale_are_folded_constants",
           "a non-uniform result up to FOLD_MAX_BYTES becomes a constarr (ConstArray of the array broadcast to "
           "the node's shape); past it, return None and leave the node to the kernels"),
        _g("tests/test_fold_rules.py::test_rule_fires_on_its_example_and_keeps_the_value",
           "every rule of rules.py must fire on its example through _rewrite, and the value must stay the same "
           "bit for bit (-0.0 and NaN included): only uniform results whose signs agree become one const",
           hidden=True),
    ), "How many nodes does folding remove from a real training step, and what is left for the kernels?",
       THINK + "11", "graph nodes of an MLP training step before and after fold (and dce), with fold off and on",
       run="tests/test_train_real.py::test_digits_adam_loss_falls_and_matches_pytorch"),
    Module(12, "Fusion", "chapters/12-fusion.md", ("m12.join_phase", "m12.recompute"), (
        _g("tests/test_fusion.py::test_elementwise_chain_is_one_kernel",
           "an elementwise node joins an elementwise group (no core) of its own size as a 'post' op", 2),
        _g("tests/test_fusion.py::test_matmul_with_bias_relu_and_residual_is_one_kernel",
           "a matmul or reduction becomes the 'core' of a group with no core yet, when every node there has its "
           "output size and all its consumers there are 'post' ops (the epilogue)"),
        _g("tests/test_fusion.py::test_reduction_with_producers_and_consumers",
           "an elementwise producer of a reduction's input joins as 'pre' when it has the input's size and its "
           "consumers in the group are 'pre' or 'core'"),
        _g("tests/test_fusion.py::test_split_gradient_sums_its_pads_in_one_kernel",
           "a pad joins only an elementwise group with no core and of its own size; nothing joins a group whose "
           "consumer of it is a pad, nor an opaque, copy or contig group", hidden=True),
        _g("tests/test_bn_reduce.py::test_batchnorm_step_reads_the_input_in_six_passes",
           "_recomputable: a cheap (not costly) elementwise node read by at most MAX_RECOMPUTE kernels is "
           "recomputed when its f full-size sources read in every kernel (f * groups) cost no more than storing "
           "it (f + 1 + groups): BatchNorm's x - shift then costs no arena buffer"),
    ), "What does fusion buy in a real training step: how many kernels, how many bytes through memory, how "
       "much time?", THINK + "12",
       "kernels, arena bytes and step time of an MLP training step, fused against unfused (tt.disable_passes)",
       run="tests/test_train_real.py::test_digits_adam_loss_falls_and_matches_pytorch"),
    Module(13, "Memory planning", "chapters/13-memory-planning.md", ("m13.best_fit", "m13.verify"), (
        _g("tests/test_memory_plan.py::test_greedy_by_size_best_fit_by_hand",
           "place blocks largest first (ties: earlier first step, then name); for each, walk the placed blocks "
           "whose steps overlap its own in offset order and take the smallest gap that holds it, else the end "
           "of the last one", 2),
        _g("tests/test_memory_plan.py::test_verify_catches_an_overlap",
           "verify: for every two buffers of different blocks (alias_of joins an in-place pair) whose steps "
           "overlap, [offset, offset + size) must not overlap; assert with a message naming both and 'overlaps'"),
        _g("tests/test_memory_plan.py::test_plan_of_a_real_program_verifies_and_reuses",
           "a real Program's plan must verify: a gap counts only between blocks whose steps overlap the new one's, "
           "and the cursor moves to the end of the furthest such block"),
        _g("tests/test_checkpoint_pass.py::test_deep_mlp_recomputes_lowers_the_peak_and_keeps_the_bits[sqrt-numpy]",
           "recomputing activations lowers the peak only if the planner gives their dead bytes to later buffers",
           hidden=True),
    ), "What does memory planning buy? A training step's temporaries, each with its own bytes, against best-fit "
       "reuse of the bytes of buffers that are dead.", THINK + "13",
       "arena bytes of an MLP and a LeNet-5 training step: no reuse, best fit, and the liveness lower bound",
       run="tests/test_train_real.py::test_digits_adam_loss_falls_and_matches_pytorch"),
    Module(14, "Native code generation", "chapters/14-codegen.md", ("m14.counted_loop", "m14.loop_nest"), (
        _g("tests/test_llvm_codegen.py::test_elementwise_op_matches_numpy[exp-float32]",
           "counted_loop: branch to the header only when lo < hi; in the header a phi takes lo from the block "
           "before and i + 1 from the end of the body; test i + 1 < hi at the bottom", 2),
        _g("tests/test_llvm_codegen.py::test_random_views",
           "_loops: one counted loop per axis of dims, outermost first; the body runs once per index tuple, "
           "inside self.scope(), with env mapping each axis to its loop variable"),
        _g("tests/test_llvm_codegen.py::test_softmax_and_layernorm_rows",
           "nest() loops each axis over [0, extent): only the outermost loop of parallel() runs over the "
           "function's [start, stop)"),
        _g("tests/test_llvm_codegen.py::test_elementwise_chains_vectorize_for_the_host",
           "keep the loop a guarded do-while with the phi in the header: the shape LLVM's vectorizer recognises"),
        _g("tests/test_llvm_codegen.py::test_threads_split_the_outer_loop_and_agree",
           "with outer=True the first loop runs over [fn.start, fn.stop) so threads split it", hidden=True),
    ), "Compiled against eager: where does the time go? The same training step with each kernel run by NumPy calls "
       "against native loops.", "python benchmarks/bench_llvm_backend.py --steps 10",
       "first-compile time and step time of an MLP training step, numpy backend against llvm backend"),
    Module(15, "Profiling and rooflines", "chapters/15-profiling.md", ("m15.place", "m15.totals"), (
        _g("tests/test_profiler.py::test_roofline_places_kernels_by_its_formula",
           "intensity = flops / bytes (inf with no bytes); attainable = min(peak, intensity * bandwidth); "
           "fraction = max(flops / peak, bytes / bandwidth) / seconds; compute-bound at or past the ridge", 2),
        _g("tests/test_profiler.py::test_every_kernel_of_every_run_is_recorded_with_the_programs_figures",
           "totals: one KernelTotal per kernel key, its runs counted and seconds, FLOPs and bytes summed, "
           "first_s the first run's start, sorted by SORT_KEYS[sort_by]"),
        _g("tests/test_profiler.py::test_profile_command_profiles_steady_steps",
           "`tinytorch profile` prints Profile.table, one row per KernelTotal: totals must count every run"),
        _g("tests/test_profiler.py::test_table_lists_every_kernel_and_rejects_an_unknown_sort",
           "totals('flops') puts the kernel of most FLOPs first", hidden=True),
    ), "Is each kernel of a training step compute- or memory-bound, and how close to its roof does it run?",
       "tinytorch profile --model lenet5 --roofline --rows 8",
       "the kernels of a LeNet-5 training step on this machine's roofline: intensity, GFLOP/s, bound, % of roof"),
    Module(16, "Gradient checkpointing", "chapters/16-checkpointing.md", ("m16.sqrt_segments", "m16.mincut_network"), (
        _g("tests/test_checkpoint_pass.py::test_deep_mlp_recomputes_lowers_the_peak_and_keeps_the_bits[sqrt-numpy]",
           "keep_sqrt: of the recomputable, non-view values the backward reads, keep every stride-th "
           "(stride defaults to round(sqrt(n))), plus every value that cannot be recomputed", 2),
        _g("tests/test_checkpoint_pass.py::test_deep_mlp_recomputes_lowers_the_peak_and_keeps_the_bits[mincut-numpy]",
           "keep_mincut: an edge in -> out per forward node of capacity its bytes (0 for an output, inf for a "
           "view), source -> in of lam * flops (inf if not recomputable), inf data edges out(src) -> in, "
           "out -> sink for each needed value; keep the nodes whose in side is reached and out side is not", 2),
        _g("tests/test_checkpoint_pass.py::test_small_cnn_same_gradients_bit_for_bit[sqrt]",
           "under a budget the pass tries keep_sqrt at every stride: honour the `stride` argument when it is given"),
        _g("tests/test_checkpoint_pass.py::test_budget_is_met_or_the_error_names_the_smallest_peak",
           "under a budget every candidate is a keep set from your two functions: fewer kept bytes must "
           "plan a smaller peak", hidden=True),
    ), "Gradient checkpointing's trade: memory for recompute. How much peak memory does each strategy save, "
       "and for how much more time?",
       "python benchmarks/bench_checkpoint.py --backend numpy --layers 8 --width 256 --batch 64 --quick",
       "planned arena, kept bytes, peak RSS, step time and FLOPs of a deep MLP step: none, sqrt, min-cut",
       run="tests/test_checkpoint_pass.py::test_trainer_and_compile_take_a_budget[trainer]"),
    Module(17, "Mixed precision", "chapters/17-mixed-precision.md", ("m17.cast_arguments", "m17.scale_update"), (
        _g("tests/test_autocast.py::test_dtype_and_value_as_torch_autocast",
           "cast_arguments: LOWER casts float32 tensor arguments to `lower`, FLOAT32 casts `lower` ones to "
           "float32; other dtypes and non-tensors pass as they are (_cast does one)", 2),
        _g("tests/test_autocast.py::test_float32_ops_read_the_float16_product",
           "reductions, softmax, norms and losses have policy FLOAT32: their float16 arguments become float32"),
        _g("tests/test_autocast.py::test_grad_scaler_skips_backs_off_and_grows_as_torch",
           "update: on inf (any found flag > 0) scale *= backoff and the tracker resets; else the tracker "
           "counts and at growth_interval the scale grows (unless that is inf) and the tracker resets; assign "
           "both and realize them", 2),
        _g("tests/test_autocast.py::test_captured_amp_step_compiles_once_while_the_scale_changes",
           "the scale and tracker are data: build the update with where() on tensors, never a Python if on "
           "their values", hidden=True),
    ), "What do half-precision activations save, and what do they cost in time and accuracy?",
       "python benchmarks/bench_amp.py --quick",
       "planned arena, peak RSS, step time and test accuracy of the MNIST CNN: float32 against autocast"),
    Module(18, "Tokenization and embeddings", "chapters/18-tokenization.md",
           ("m18.char_encode", "m18.merge_pair", "m18.encode_word"), (
        _g("tests/test_text.py::test_char_tokenizer_round_trips_its_corpus",
           "encode maps each character through self.stoi, in order: decode(encode(s)) == s for any text built "
           "from the vocabulary"),
        _g("tests/test_text.py::test_char_tokenizer_unknown_character_names_it_and_what_to_do",
           "a character outside the vocabulary raises UnknownCharacterError naming it, its code point (U+00E9) and "
           "position, and the way out (CharTokenizer.from_text, or ByteLevelBPE)"),
        _g("tests/test_text.py::test_bpe_merges_match_a_hand_worked_sequence",
           "merge_pair replaces each (a, b), left to right and without overlap, by the new id; _encode_word "
           "repeatedly applies the LOWEST-ranked merge present among adjacent pairs until none applies", 2),
        _g("tests/test_text.py::test_bpe_training_matches_the_naive_trainer_on_english",
           "encoding by rank must give exactly the tokens training ended with: 'aaa' with merge (a, a) is "
           "[aa, a], not [a, aa]"),
        _g("tests/test_text.py::test_bpe_training_matches_the_naive_trainer",
           "random small corpora: check repeated pairs ('aaaa'), multi-byte characters and words of one byte",
           hidden=True),
    ), "How many tokens per character does each tokenizer give, and what does the embedding table cost? "
       "A bigger vocabulary gives shorter sequences (attention is N^2) but a bigger table (vocab x n_embd).",
       THINK + "18", "tokens per character of char vs byte-level BPE (vocab 512, 1024) on Tiny Shakespeare, "
       "and each one's embedding table bytes at n_embd 384",
       run="tests/test_text.py::test_bpe_on_tinyshakespeare_compresses_and_round_trips"),
    Module(19, "Attention", "chapters/19-attention.md", ("m19.sdpa_composed", "m19.online_softmax"), (
        _g("tests/test_sdpa.py::test_sdpa_matches_torch[3-7-causal]",
           "scores = q k^T * scale; is_causal masks key j > query i (np.tril of an (L, S) block of ones, a "
           "constant) with -inf before the softmax over the last dim, then weights @ v", 2),
        _g("tests/test_sdpa.py::test_sdpa_matches_torch[5-5-bool]",
           "a bool attn_mask says which scores take part (True): where(mask, scores, -inf); a float mask is "
           "added to the scores"),
        _g("tests/test_attention.py::test_fused_matches_torch_sdpa[7-11-causal-float64]",
           "online softmax over key tiles: m_new = max(m, tile max); rescale l and acc by exp(m - m_new); "
           "l += sum(p), acc += p @ v; at the end out = acc / l and the lse column = m + log(l)", 2),
        _g("tests/test_attention.py::test_fused_matches_torch_sdpa[13-5-bool-float32]",
           "a row whose keys so far are all masked has m = -inf: shift by 0 there, or exp(-inf - -inf) is NaN"),
        _g("tests/test_attention.py::test_a_fully_masked_row_gives_zero_as_torch",
           "a row with every key masked ends with l == 0: write 0 (and lse -inf), as PyTorch's safe softmax",
           hidden=True),
    ), "Attention's N^2: the (T, T) score matrix grows as the square of the sequence, in memory and time; the "
       "streaming op never holds it.",
       THINK + "19", "the (H, T, T) score bytes, the planned memory of composed against streamed attention, and "
       "each one's time, against sequence length T",
       run="tests/test_gpt.py::test_a_few_steps_on_tiny_shakespeare_lower_the_loss"),
    Module(20, "The transformer and its KV cache (capstone)", "chapters/20-transformer.md",
           ("m20.self_attention", "m20.block_forward", "m20.kv_cache_write"), (
        _g("tests/test_gpt.py::test_block_matches_torch_values_and_grads",
           "pre-norm residual: x = x + attn(ln_1(x)), then x + mlp(ln_2(x)); attention splits c_attn(x) into "
           "q, k, v, each (B, T, C) -> (B, H, T, C/H), runs causal SDPA and merges the heads back to (B, T, C) "
           "before c_proj", 2),
        _g("tests/test_gpt.py::test_gpt_loads_pytorch_weights_logits_loss_and_grads[.npz-False]",
           "the whole GPT against nanoGPT's: if the block test passes and this fails, check the head split "
           "(reshape to (b, t, n_head, c // n_head), then transpose(1, 2))"),
        _g("tests/test_gpt.py::test_greedy_generation_matches_pytorch_with_and_without_cache",
           "decode writes the new (B, H, 1, D) key and value at the position with where(slots == pos, k, cache), "
           "assigns the caches, and masks keys after the position (slots <= pos) in a (1, 1, 1, S) bool mask; "
           "while decoding, CausalSelfAttention uses cache.decode's keys, values and mask", 2),
        _g("tests/test_gpt.py::test_generate_sees_weights_loaded_after_a_captured_decode",
           "return self.k and self.v after assigning them: reading through the assign is what makes the "
           "captured decode step perform the write", hidden=True),
    ), "What does the KV cache buy when generating? Without it each new token recomputes every earlier "
       "token's keys and values: the work per token grows with the context.", THINK + "20",
       "tokens per second generating with and without the KV cache (a 4-layer, 128-wide char GPT)",
       run="tests/test_gpt.py::test_a_few_steps_on_tiny_shakespeare_lower_the_loss"),
)

BY_NUMBER = {m.number: m for m in MODULES}


def module(number: int) -> Module:
    if number not in BY_NUMBER:
        raise SystemExit(f"tinytorch course: there is no module {number}; modules are 1..{len(MODULES)} "
                         f"(tinytorch course list)")
    return BY_NUMBER[number]
