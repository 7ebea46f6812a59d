"""The twenty course modules, as data: what each builds, where its exercises are, and what grades them.

A module is complete when its regions are marked in the source and its chapter exists; the others name the
code they will cut (`planned`) and already list the framework's own tests that will grade it, so `check N`
works on every module today. Grading tests are pytest node ids under tests/; a hidden one is left out of the
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
    planned: str = ""  # for a module not complete yet: the code its regions will cut

    @property
    def complete(self) -> bool:
        return bool(self.regions) and not self.planned

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
    Module(4, "Layers and activations", "chapters/04-layers.md", (), (
        _g("tests/test_nn.py::test_batchnorm_train_eval_and_running_stats", "running statistics update only in train mode"),
        _g("tests/test_gpt.py::test_multihead_attention_matches_torch", "Linear is x @ W.T + b"),
    ), "How many parameters and bytes does each layer hold?", "python examples/quickstart.py",
       "parameter bytes per layer", planned="nn.Linear.forward, nn.LayerNorm.forward, F.gelu"),
    Module(5, "Losses", "chapters/05-losses.md", (), (
        _g(GC + "test_matches_torch[cross_entropy]", "log_softmax subtracts the row max before exp"),
    ), "Why log-softmax and not log(softmax)?", THINK + "3", "loss values at large logits",
       planned="F.log_softmax, F.cross_entropy, F.mse_loss"),
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
    Module(7, "Training loops, checkpoints and monitoring", "chapters/07-training.md", (), (
        _g("tests/test_train_real.py::test_trainer_logs_checkpoints_and_resumes_exactly", "save the RNG and step"),
        _g("tests/test_checkpoint.py::test_a_crash_mid_write_keeps_the_last_good_checkpoint", "write then rename"),
    ), "What does one training step compile to, and does memory stay flat?", "python benchmarks/bench_step_memory.py",
       "resident memory per step", planned="Trainer.fit's step, serialization's atomic write"),
    Module(8, "Data loading", "chapters/08-data.md", (), (
        _g("tests/test_data.py::test_loader_batches_cover_everything_once_with_settled_dtypes", "one pass, every index"),
        _g("tests/test_data.py::test_shuffle_is_a_permutation_reproducible_by_seed_and_epoch", "seed + epoch"),
    ), "Is the loader or the step the bottleneck?", "python benchmarks/bench_overhead.py",
       "batch time against step time", planned="DataLoader's batching and shuffle"),
    Module(9, "Convolution and CNNs", "chapters/09-convolution.md", (), (
        _g("tests/test_nn.py::test_conv2d", "im2col: unfold then matmul"),
        _g("tests/test_cnn_ops.py::test_conv1d", "conv1d is conv2d over a height of 1"),
    ), "im2col's memory: k*k times the input.", "python benchmarks/bench_cnn_ops.py",
       "conv time and im2col bytes", planned="compiler/ops/conv.py's tiled im2col, F.max_pool2d"),
    Module(10, "The lazy graph and IR", "chapters/10-graph-and-ir.md", (), (
        _g("tests/test_smoke.py::test_lazy_builds_nothing_until_realize", "ops record nodes, realize compiles"),
        _g("tests/test_smoke.py::test_cache_hit_on_same_structure", "the cache key is the graph's structure"),
    ), "What does building the graph cost against running it?", "python benchmarks/compile_time.py",
       "build, compile and run time per step", planned="compiler/ir.py's structural key"),
    Module(11, "Constant folding and rewrites", "chapters/11-folding.md", (), (
        _g("tests/test_passes.py::test_identities_fold_to_the_input", "x * 1 and x + 0 (integers) fold"),
        _g("tests/test_fold_rules.py::test_rule_fires_on_its_example_and_keeps_the_value", "a rule keeps the value"),
    ), "How many nodes does folding remove from a real step?", "tinytorch explain", "nodes before and after fold",
       planned="compiler/passes/fold.py's identity rules"),
    Module(12, "Fusion", "chapters/12-fusion.md", (), (
        _g("tests/test_fusion.py::test_elementwise_chain_is_one_kernel", "elementwise consumers join their producer"),
        _g("tests/test_fusion.py::test_several_consumers_break_fusion", "a value read twice is stored"),
    ), "What does fusion buy?", "python benchmarks/bench_llvm_kernels.py", "kernels and time, fused against unfused",
       planned="compiler/passes/fusion.py's grouping"),
    Module(13, "Memory planning", "chapters/13-memory-planning.md", (), (
        _g("tests/test_memory_plan.py::test_greedy_by_size_best_fit_by_hand", "largest first, best fitting gap"),
        _g("tests/test_memory_plan.py::test_verify_catches_an_overlap", "two live buffers never overlap"),
    ), "What does memory planning buy?", "python benchmarks/bench_shape_memory.py", "arena bytes with and without reuse",
       planned="compiler/passes/memplan.py's best fit"),
    Module(14, "Native code generation", "chapters/14-codegen.md", (), (
        _g("tests/test_llvm_codegen.py::test_elementwise_op_matches_numpy", "one loop over the kernel's shape"),
    ), "Compiled against eager: where does the time go?", "python benchmarks/bench_llvm_backend.py",
       "step time, numpy against llvm backend", planned="compiler/llvm's loop nest"),
    Module(15, "Profiling and rooflines", "chapters/15-profiling.md", (), (
        _g("tests/test_profiler.py::test_roofline_places_kernels_by_its_formula", "intensity = flops / bytes"),
    ), "Is each kernel compute- or memory-bound?", "python benchmarks/bench_profiler.py", "a roofline of a step",
       planned="tinytorch/roofline_model.py's bound"),
    Module(16, "Gradient checkpointing", "chapters/16-checkpointing.md", (), (
        _g("tests/test_checkpoint_pass.py::test_deep_mlp_recomputes_lowers_the_peak_and_keeps_the_bits",
           "recompute what is cheap, keep what is costly"),
    ), "Gradient checkpointing's trade: memory for recompute.", "python benchmarks/bench_checkpoint.py",
       "peak bytes against step time", planned="compiler/passes/checkpoint.py's choice"),
    Module(17, "Mixed precision", "chapters/17-mixed-precision.md", (), (
        _g("tests/test_autograd.py::test_grads_keep_each_inputs_dtype", "a gradient keeps its input's dtype"),
    ), "What do half-precision activations save, and what do they cost in accuracy?",
       "python benchmarks/bench_step_memory.py", "bytes and loss, float32 against float16",
       planned="autocast's cast rules"),
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
