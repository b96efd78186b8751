"""
The two language models of this project: a GPT-2 decoder and a Backpack language model built on it.

References:
1) GPT-2: Radford et al., "Language Models are Unsupervised Multitask Learners" (2019), and
   Karpathy's nanoGPT (github.com/karpathy/nanoGPT), whose structure this file follows.
2) Backpack: Hewitt, Thickstun, Manning, Liang, "Backpack Language Models" (ACL 2023,
   arXiv 2305.16765); Sun and Hewitt, "Character-level Chinese Backpack Language Models"
   (arXiv 2310.12751).

Both models share nanoGPT's call convention: `logits, loss = model(idx, targets)`. With targets,
logits cover every position; without, only the last position (all of them with all_logits=True).
The vocabulary is padded up to a multiple of 64 for fast matrix multiplies; the logits of the
padding ids are -inf, so every distribution is over the tokenizer's real vocabulary.

The configurations also describe models trained elsewhere (convert_checkpoint.py), each
difference a named field recorded in a checkpoint's model_args: `activation`,
`scale_attn_by_inverse_layer_idx`, `layer_norm_epsilon`, and for the Backpack `sense_network`
(one class per design, SENSE_NETWORKS), `sense_weight_bias`, `sense_scores_scaled` and
`n_contextualization_layer`.
"""

import dataclasses
import inspect
import math
from dataclasses import dataclass

import torch
import torch.nn as nn
from torch.nn import functional as F


class LayerNorm(nn.Module):
    """LayerNorm with an optional bias (PyTorch's has no bias=False before 2.1)."""

    def __init__(self, ndim, bias, eps=1e-5):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(ndim))
        self.bias = nn.Parameter(torch.zeros(ndim)) if bias else None
        self.eps = eps

    def forward(self, x):
        return F.layer_norm(x, self.weight.shape, self.weight, self.bias, self.eps)


# config.activation: GELU exact (erf) or its tanh approximation (GPT-2's "gelu_new", which models
# converted from GPT-2, the published Backpack-GPT2 and the original project were trained with)
ACTIVATIONS = {'gelu': 'none', 'gelu_tanh': 'tanh'}


class CausalSelfAttention(nn.Module):
    def __init__(self, config, layer_idx=0):
        super().__init__()
        if config.n_embd % config.n_head != 0:
            raise ValueError(f"n_embd ({config.n_embd}) must be divisible by n_head ({config.n_head})")
        self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd, bias=config.bias)
        self.c_proj = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)
        self.attn_dropout = config.dropout
        self.resid_dropout = nn.Dropout(config.dropout)
        self.n_head = config.n_head
        self.n_embd = config.n_embd
        # GPT-2's scale_attn_by_inverse_layer_idx: the scores of layer i (0-based) are further
        # divided by i + 1 (as in the published Backpack-GPT2)
        depth_scale = layer_idx + 1 if config.scale_attn_by_inverse_layer_idx else 1
        self.scale = 1 / (math.sqrt(config.n_embd // config.n_head) * depth_scale)
        self.layer_idx = layer_idx

    def forward(self, x, cache=None):
        """cache: None, or the KVCache of earlier positions (this layer's keys and values are
        written into it), so that x may be only the new positions."""
        B, T, C = x.size()
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)
        k = k.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)  # (B, nh, T, hs)
        q = q.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        v = v.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        is_causal, mask = True, None
        if cache is not None:
            k, v = cache.extend_layer(self.layer_idx, k, v)
            is_causal, mask = attention_mask(q.size(2), k.size(2), q.device)
        y = F.scaled_dot_product_attention(
            q,
            k,
            v,
            attn_mask=mask,
            is_causal=is_causal,
            dropout_p=self.attn_dropout if self.training else 0.0,
            scale=self.scale,
        )
        y = y.transpose(1, 2).contiguous().view(B, T, C)
        return self.resid_dropout(self.c_proj(y))


def layer_norm(ndim, config):
    return LayerNorm(ndim, bias=config.bias, eps=config.layer_norm_epsilon)


def causal_mask(n_new, n_all, device):
    """(n_new, n_all) bool, True where attention is allowed: the last n_new of n_all positions
    each see every earlier position and themselves."""
    return torch.ones(n_new, n_all, dtype=torch.bool, device=device).tril(diagonal=n_all - n_new)


def attention_mask(n_new, n_all, device):
    """(is_causal, mask) for scaled_dot_product_attention when the last n_new of n_all positions
    are new: the plain causal mask when nothing was cached, no mask for one new position (it sees
    everything), else each new position t sees every cached position and the new ones up to t."""
    if n_new == n_all:
        return True, None
    if n_new == 1:
        return False, None
    return False, causal_mask(n_new, n_all, device)


class KVCache:
    """What a model keeps of the positions it has already seen, so that generation and the cloze
    beam search feed only the new tokens.

    It holds, for every position so far (`length` of them):
    - for each Transformer layer, the attention keys and values, (B, n_head, T, head size);
    - for the Backpack, also the sense keys (B, K, T, d/K) and the sense vectors (B, T, K, d),
      with any intervention already applied (their weights for later positions need them all).
    How it grows: every buffer is allocated once, for `capacity` positions (the block size), the
    first time something is written, and new positions are copied in after the first `length`
    (no torch.cat copy of the past at every step). A forward writes at `length` and the model
    calls advance(T) once it has used the new positions. Beyond capacity a caller starts a new
    cache (generate() recomputes its sliding window). How a beam search reorders it: every
    buffer has the batch first, so reorder(parents) keeps, for each new row, the rows of the
    sequence it continues."""

    def __init__(self, n_layer, capacity):
        self.capacity = capacity
        self.length = 0
        self.keys, self.values = [None] * n_layer, [None] * n_layer
        self.sense_keys = self.senses = None

    def _write(self, buffer, new, dim):
        """(buffer, filled part): new written after the first `length` positions along dim of
        buffer, which is allocated for `capacity` positions when it is None."""
        end = self.length + new.size(dim)
        if end > self.capacity:
            raise ValueError(
                f"the cache holds {self.capacity} positions: cannot add {new.size(dim)} after {self.length}"
            )
        if buffer is None:
            shape = list(new.shape)
            shape[dim] = self.capacity
            buffer = new.new_empty(shape)
        buffer.narrow(dim, self.length, new.size(dim)).copy_(new)
        return buffer, buffer.narrow(dim, 0, end)

    def extend_layer(self, layer, k, v):
        """Write a layer's new keys and values (B, n_head, T_new, hs); return those of every
        position so far."""
        self.keys[layer], k = self._write(self.keys[layer], k, dim=2)
        self.values[layer], v = self._write(self.values[layer], v, dim=2)
        return k, v

    def extend_senses(self, sense_keys, senses):
        """The Backpack's: write the new sense keys (B, K, T_new, d/K) and sense vectors
        (B, T_new, K, d); return those of every position so far."""
        self.sense_keys, sense_keys = self._write(self.sense_keys, sense_keys, dim=2)
        self.senses, senses = self._write(self.senses, senses, dim=1)
        return sense_keys, senses

    def advance(self, n):
        """The model has used n new positions: later writes go after them."""
        self.length += n

    def reorder(self, index):
        """Keep the rows index (a beam's parents), in that order, of every buffer."""

        def rows(buffer):
            return None if buffer is None else buffer.index_select(0, index)

        self.keys = [rows(b) for b in self.keys]
        self.values = [rows(b) for b in self.values]
        self.sense_keys, self.senses = rows(self.sense_keys), rows(self.senses)


class MLP(nn.Module):
    def __init__(self, n_in, n_hidden, n_out, config):
        super().__init__()
        bias = config.bias
        self.c_fc = nn.Linear(n_in, n_hidden, bias=bias)
        if config.activation not in ACTIVATIONS:
            raise ValueError(f"activation={config.activation!r}: choose one of {list(ACTIVATIONS)}")
        self.gelu = nn.GELU(approximate=ACTIVATIONS[config.activation])
        self.c_proj = nn.Linear(n_hidden, n_out, bias=bias)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x):
        return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))


class Block(nn.Module):
    def __init__(self, config, layer_idx=0):
        super().__init__()
        self.ln_1 = layer_norm(config.n_embd, config)
        self.attn = CausalSelfAttention(config, layer_idx)
        self.ln_2 = layer_norm(config.n_embd, config)
        d = config.n_embd
        self.mlp = MLP(d, 4 * d, d, config)

    def forward(self, x, cache=None):
        x = x + self.attn(self.ln_1(x), cache)
        x = x + self.mlp(self.ln_2(x))
        return x


@dataclass
class GPTConfig:
    block_size: int = 1024
    vocab_size: int = 10000  # the tokenizer's vocabulary (from meta.json); rows are padded to 64
    n_layer: int = 12
    n_head: int = 12
    n_embd: int = 768
    dropout: float = 0.0
    bias: bool = True  # bias in Linears and LayerNorms, like GPT-2; False is a bit better and faster
    activation: str = 'gelu'  # 'gelu' (exact) or 'gelu_tanh' (GPT-2's tanh approximation)
    scale_attn_by_inverse_layer_idx: bool = False  # GPT-2 option: layer i's scores also / (i + 1)
    layer_norm_epsilon: float = 1e-5

    @property
    def padded_vocab_size(self):
        return -(-self.vocab_size // 64) * 64


class Transformer(nn.Module):
    """Token and position embeddings, n_layer causal blocks, final LayerNorm: h_1..h_T.
    The GPT puts its language-model head on top; the Backpack uses it as its
    contextualization network."""

    def __init__(self, config, n_layer=None):
        super().__init__()
        self.config = config
        self.wte = nn.Embedding(config.padded_vocab_size, config.n_embd)
        self.wpe = nn.Embedding(config.block_size, config.n_embd)
        self.drop = nn.Dropout(config.dropout)
        n_layer = config.n_layer if n_layer is None else n_layer
        self.h = nn.ModuleList([Block(config, i) for i in range(n_layer)])
        self.ln_f = layer_norm(config.n_embd, config)

    def forward(self, idx, cache=None):
        """cache: None or a KVCache of the positions before idx; each layer writes its keys and
        values into it (the caller advances it)."""
        T = idx.size(1)
        start = cache.length if cache is not None else 0
        if start + T > self.config.block_size:
            raise ValueError(
                f"cannot forward a sequence of length {start + T}: the block size "
                f"is only {self.config.block_size}"
            )
        pos = torch.arange(start, start + T, dtype=torch.long, device=idx.device)
        x = self.drop(self.wte(idx) + self.wpe(pos))
        for i, block in enumerate(self.h):
            x = block(x, cache)
        return self.ln_f(x)

    def new_cache(self):
        return KVCache(len(self.h), self.config.block_size)


class LanguageModel(nn.Module):
    """What the two models share: weight init, the tied output layer, the loss,
    parameter counting, the optimizer, MFU and generation."""

    def _init_weights(self, module):
        if isinstance(module, nn.Linear):
            torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                torch.nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def _scale_residual_projections(self, n_layer):
        # GPT-2: residual projections are scaled down by sqrt(2 * n_layer) so that the residual
        # stream's variance does not grow with depth
        for name, p in self.named_parameters():
            if name.endswith('c_proj.weight'):
                torch.nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * n_layer))

    def _mask_padding(self, logits):
        # padding rows exist only for speed: they must get no probability
        V = self.config.vocab_size
        if logits.size(-1) > V:
            logits[..., V:] = float('-inf')
        return logits

    def _logits_and_loss(self, x, targets, all_logits):
        """x: (B, T, d), the vector each position's prediction is read from."""
        if targets is not None or all_logits:
            logits = self._mask_padding(self.lm_head(x))
        else:
            logits = self._mask_padding(self.lm_head(x[:, [-1], :]))  # inference: last position only
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.reshape(-1), ignore_index=-1)
        return logits, loss

    def get_num_params(self, non_embedding=True):
        """Number of parameters. The token embedding is counted once (it is tied to the output
        layer) and without its padding rows; with non_embedding=True the position embedding is
        left out, as in nanoGPT."""
        n_params = sum(p.numel() for p in self.parameters())
        # the padding rows of the embedding exist for speed only: never read, never predicted
        n_params -= (self.config.padded_vocab_size - self.config.vocab_size) * self.config.n_embd
        if non_embedding:
            n_params -= self.transformer.wpe.weight.numel()
        return n_params

    def configure_optimizers(self, weight_decay, learning_rate, betas, device_type):
        params = [p for p in self.parameters() if p.requires_grad]
        # weight decay on matrices and embeddings only, not on biases and LayerNorm gains
        optim_groups = [
            {'params': [p for p in params if p.dim() >= 2], 'weight_decay': weight_decay},
            {'params': [p for p in params if p.dim() < 2], 'weight_decay': 0.0},
        ]
        fused_available = 'fused' in inspect.signature(torch.optim.AdamW).parameters
        extra_args = dict(fused=True) if fused_available and device_type == 'cuda' else dict()
        return torch.optim.AdamW(optim_groups, lr=learning_rate, betas=betas, **extra_args)

    def estimate_mfu(self, fwdbwd_per_iter, dt, peak_flops=None, tokens_per_iter=None, distinct_fraction=1.0):
        """Model FLOPs utilisation: achieved FLOP/s over peak_flops (FLOP/s of the device at the
        dtype used; None -> None). fwdbwd_per_iter sequences of block_size tokens per iteration."""
        if not peak_flops or dt <= 0:
            return None
        tokens = tokens_per_iter or fwdbwd_per_iter * self.config.block_size
        flops = 3 * self.forward_flops_per_token(self.config.block_size, distinct_fraction) * tokens
        return flops / dt / peak_flops

    def _transformer_flops_per_token(self, T):
        """Forward FLOPs per token of the Transformer and the tied output layer: 2 per
        multiply-add in every matrix, plus attention's two T x d products (counted over the full
        T, as in the PaLM paper's appendix B and nanoGPT)."""
        cfg = self.config
        d, L = cfg.n_embd, len(self.transformer.h)
        matmul_params = L * 12 * d * d + cfg.padded_vocab_size * d
        return 2 * matmul_params + L * 2 * 2 * T * d

    @torch.no_grad()
    def generate(
        self,
        idx,
        max_new_tokens,
        temperature=1.0,
        top_k=None,
        use_cache=True,
        generator=None,
        allowed=None,
        **forward_kwargs,
    ):
        """Continue each sequence of idx (B, T) by max_new_tokens tokens. temperature 0 is
        greedy decoding; allowed, a bool (padded vocabulary,), the only ids that may be drawn.
        With use_cache, keys, values (and for the Backpack, sense keys and sense vectors) of
        earlier positions are kept; once the context is longer than block_size, the window is
        recomputed from scratch, exactly like without the cache."""
        cache = None
        fed = 0  # how many tokens of idx the cache holds
        for _ in range(max_new_tokens):
            if idx.size(1) > self.config.block_size:
                idx_cond, cache, fed = idx[:, -self.config.block_size :], None, 0
            else:
                idx_cond = idx
            if use_cache:
                if cache is None:
                    cache = self.new_cache()
                    fed = 0
                logits = self.forward_cached(idx_cond[:, fed:], cache, **forward_kwargs)
                fed = idx_cond.size(1)
                if fed >= self.config.block_size:
                    cache = None  # the next step slides the window: start again
            else:
                logits, _ = self(idx_cond, **forward_kwargs)
            logits = logits[:, -1, :]
            if allowed is not None:  # rows that are no token of the tokenizer: never drawn
                logits = logits.masked_fill(~allowed, float('-inf'))
            if temperature == 0:
                idx_next = logits.argmax(dim=-1, keepdim=True)
            else:
                logits = logits / temperature
                if top_k is not None:
                    v, _ = torch.topk(logits, min(top_k, logits.size(-1)))
                    logits[logits < v[:, [-1]]] = -float('Inf')
                probs = F.softmax(logits.float(), dim=-1)
                idx_next = torch.multinomial(probs, num_samples=1, generator=generator)
            idx = torch.cat((idx, idx_next), dim=1)
        return idx

    def crop_block_size(self, block_size):
        """Model surgery to use a smaller block size than the one trained with."""
        assert block_size <= self.config.block_size
        self.config.block_size = block_size
        self.transformer.wpe.weight = nn.Parameter(self.transformer.wpe.weight[:block_size])


class GPT(LanguageModel):
    def __init__(self, config):
        super().__init__()
        assert config.vocab_size is not None
        assert config.block_size is not None
        self.config = config
        self.transformer = Transformer(config)
        self.lm_head = nn.Linear(config.n_embd, config.padded_vocab_size, bias=False)
        # weight tying (Press & Wolf 2017): the output layer reads words the way the input writes them
        self.transformer.wte.weight = self.lm_head.weight
        self.apply(self._init_weights)
        self._scale_residual_projections(config.n_layer)

    def forward(self, idx, targets=None, all_logits=False):
        x = self.transformer(idx)
        return self._logits_and_loss(x, targets, all_logits)

    def new_cache(self):
        return self.transformer.new_cache()

    def forward_cached(self, idx, cache):
        """Logits (B, T_new, V) for the new tokens idx, given the KVCache of earlier ones
        (which then holds idx too)."""
        x = self.transformer(idx, cache)
        cache.advance(idx.size(1))
        return self._mask_padding(self.lm_head(x))

    def forward_flops_per_token(self, T, distinct_fraction=1.0):
        return self._transformer_flops_per_token(T)


@dataclass
class BackpackConfig(GPTConfig):
    n_sense_vector: int = 16  # K, senses per token
    sense_intermediate_scale: int = 4  # width of the sense network's final MLP, in units of n_embd
    sense_dedup: bool = True  # in training, run the sense network once per distinct token id
    # which sense network (SENSE_NETWORKS): 'canonical' (Hewitt et al., as published),
    # 'no_embedding_residual' (this project's before it was made canonical: what a checkpoint
    # that does not name its sense network holds), or 'original_project' (the original
    # multilingual project's design)
    sense_network: str = 'canonical'
    sense_weight_bias: bool = None  # bias in the sense weight heads (d -> 2d); None: same as bias
    sense_scores_scaled: bool = True  # scores q . k / sqrt(d/K); the original project: q . k
    n_contextualization_layer: int = None  # blocks of the contextualization Transformer; None: n_layer


class SenseNetwork(nn.Module):
    """C(v) for a token id v: K vectors in R^d, a function of the token embedding E[v] alone
    (no position, no neighbours), so a token's senses are the same in every context.
    The shape of Hewitt et al. (the published Backpack-GPT2): the residual stream starts at
    LayerNorm(E[v]) + E[v], one pre-LayerNorm residual block with an MLP (d -> 4d -> d) and no
    attention, then LayerNorm -> MLP d -> s*d -> K*d (s = sense_intermediate_scale), read K-major
    (sense k is columns k*d .. (k+1)*d - 1)."""

    embedding_residual = True

    @staticmethod
    def block_width(config):
        return 4 * config.n_embd  # as published: sense_intermediate_scale sets the final MLP's only

    def __init__(self, config):
        super().__init__()
        d, K, scale = config.n_embd, config.n_sense_vector, config.sense_intermediate_scale
        self.n_sense_vector = K
        self.drop = nn.Dropout(config.dropout)
        self.ln_0 = layer_norm(d, config)
        self.ln_1 = layer_norm(d, config)
        self.mlp = MLP(d, self.block_width(config), d, config)
        self.ln_2 = layer_norm(d, config)
        self.final_mlp = MLP(d, scale * d, K * d, config)

    def forward(self, embeddings):
        """embeddings (..., d) -> senses (..., K, d)"""
        e = self.drop(embeddings)
        x = self.ln_0(e) + e if self.embedding_residual else self.ln_0(e)
        x = x + self.mlp(self.ln_1(x))
        senses = self.final_mlp(self.ln_2(x))
        return senses.view(*embeddings.shape[:-1], self.n_sense_vector, embeddings.size(-1))


class SenseNetworkWithoutEmbeddingResidual(SenseNetwork):
    """This project's sense network before it was made canonical: the residual stream starts at
    LayerNorm(E[v]) alone, without + E[v]. Kept so that the checkpoints trained with it load as
    what they are. Its block's MLP is sense_intermediate_scale * d wide, like the final one."""

    embedding_residual = False

    @staticmethod
    def block_width(config):
        return config.sense_intermediate_scale * config.n_embd


class OriginalProjectSenseNetwork(nn.Module):
    """The original multilingual project's sense layer (backpack.md, "The original multilingual
    project"): x = LN_1(e + FF_1(e)) (post-LayerNorm); y = x + FF_2(x) read D-major as (d, K),
    so every sense gets x itself; then ONE LayerNorm over the d*K numbers; sense k is y[:, k]."""

    def __init__(self, config):
        super().__init__()
        d, K, scale = config.n_embd, config.n_sense_vector, config.sense_intermediate_scale
        self.n_sense_vector = K
        self.drop = nn.Dropout(config.dropout)
        self.ff_1 = MLP(d, scale * d, d, config)
        self.ln_1 = layer_norm(d, config)
        self.ff_2 = MLP(d, scale * d, d * K, config)
        self.ln_2 = layer_norm(d * K, config)

    def forward(self, embeddings):
        """embeddings (..., d) -> senses (..., K, d)"""
        e = self.drop(embeddings)
        x = self.ln_1(e + self.ff_1(e))
        d, K = x.size(-1), self.n_sense_vector
        y = x.unsqueeze(-1) + self.ff_2(x).unflatten(-1, (d, K))  # (..., d, K)
        y = self.ln_2(y.flatten(-2)).unflatten(-1, (d, K))
        return y.transpose(-1, -2)


SENSE_NETWORKS = {
    'canonical': SenseNetwork,
    'no_embedding_residual': SenseNetworkWithoutEmbeddingResidual,
    'original_project': OriginalProjectSenseNetwork,
}


class CausalSenseSum(torch.autograd.Function):
    """o_i = sum_k sum_{j<=i} softmax_j(q_ki . k_kj / sqrt(d/K)) v_jk, without keeping alpha:
    queries are taken in blocks, each against the keys up to the block's end only (about half
    the products of a full T x T attention), alpha is made one block at a time and the backward
    pass makes it again (cheap: the scores are d/K wide) instead of keeping it. PyTorch's CPU
    attention kernels need values as wide as queries, so on CPU this is the fast path.
    q, k: (B, K, T, d/K); v: (B, T, K, d) -> o: (B, T, d)."""

    @staticmethod
    def _weights(q, k, s, e, scale):
        """Scores of queries s..e-1 against keys 0..e-1, causally masked: (B, K, e-s, e), float32."""
        scores = (q[:, :, s:e] @ k[:, :, :e].transpose(-1, -2)).float() * scale
        later = torch.ones(e - s, e - s, dtype=torch.bool, device=q.device).triu(1)
        scores[..., s:e].masked_fill_(later, float('-inf'))
        return scores

    @staticmethod
    def forward(ctx, q, k, v, block_size):
        B, K, T, h = q.shape
        d, scale = v.size(-1), 1 / math.sqrt(h)
        o = v.new_empty(B, T, d)
        for s in range(0, T, block_size):
            e = min(s + block_size, T)
            alpha = torch.softmax(CausalSenseSum._weights(q, k, s, e, scale), dim=-1).to(v.dtype)
            # one product over (key, sense) pairs sums the K heads as it goes
            o[:, s:e] = alpha.permute(0, 2, 3, 1).reshape(B, e - s, e * K) @ v[:, :e].reshape(B, e * K, d)
        ctx.save_for_backward(q, k, v)
        ctx.block_size = block_size
        return o

    @staticmethod
    def backward(ctx, grad_o):
        q, k, v = ctx.saved_tensors
        B, K, T, h = q.shape
        d, scale = v.size(-1), 1 / math.sqrt(h)
        grad_q = torch.empty_like(q)
        grad_k = grad_v = None
        # the last block first: it reaches every key, so it sets grad_k and grad_v whole and the
        # earlier blocks add to their prefixes in place (baddbmm_: no block-sized temporaries)
        for s in reversed(range(0, T, ctx.block_size)):
            e = min(s + ctx.block_size, T)
            n = e - s
            alpha = torch.softmax(CausalSenseSum._weights(q, k, s, e, scale), dim=-1)
            alpha = alpha.to(v.dtype).permute(0, 2, 3, 1).contiguous()  # (B, n, e, K)
            alpha_t = alpha.view(B, n, e * K).transpose(1, 2)
            grad_o_block = grad_o[:, s:e].to(v.dtype)
            grad_alpha = (grad_o_block @ v[:, :e].reshape(B, e * K, d).transpose(1, 2)).view(B, n, e, K)
            # softmax backward: alpha * (grad - sum_j alpha_j grad_j), in the (B, n, e, K) layout
            grad_alpha -= (grad_alpha * alpha).sum(dim=2, keepdim=True)
            grad_scores = grad_alpha.mul_(alpha).mul_(scale).permute(0, 3, 1, 2).to(q.dtype)
            grad_q[:, :, s:e] = grad_scores @ k[:, :, :e]
            if grad_v is None:
                grad_v = (alpha_t @ grad_o_block).view(B, e, K, d)
                grad_k = grad_scores.transpose(-1, -2) @ q[:, :, s:e]
            else:
                grad_v[:, :e].view(B, e * K, d).baddbmm_(alpha_t, grad_o_block)
                grad_k[:, :, :e].flatten(0, 1).baddbmm_(
                    grad_scores.transpose(-1, -2).flatten(0, 1), q[:, :, s:e].flatten(0, 1)
                )
        return grad_q, grad_k, grad_v, None


def sense_sum(q, k, senses, block_size=64):
    """o (B, T, d) = sum_k sum_{j<=i} alpha_kij C_jk for queries and keys (B, K, T, d/K) and
    sense vectors (B, T, K, d), without materialising alpha (B, K, T, T). On CUDA this is
    attention with K heads whose values are the sense vectors, summed over the heads
    (scaled_dot_product_attention accepts values wider than queries); elsewhere CausalSenseSum."""
    if q.device.type == 'cuda':
        return F.scaled_dot_product_attention(q, k, senses.transpose(1, 2), is_causal=True).sum(dim=1)
    # one precision for the products: the queries' (bfloat16 under autocast)
    return CausalSenseSum.apply(q, k.to(q.dtype), senses.to(q.dtype), block_size)


class BackpackLM(LanguageModel):
    """o_i = sum_k sum_{j<=i} alpha_kij C(x_j)_k and logits_i = E o_i, where the alpha_k are the
    causal softmax weights of K heads (query/key width d/K) read off a GPT-2 Transformer, and the
    C(x_j)_k are the sense vectors of the tokens seen so far."""

    def __init__(self, config):
        super().__init__()
        if config.n_embd % config.n_sense_vector != 0:
            raise ValueError(
                f"n_embd ({config.n_embd}) must be divisible by n_sense_vector "
                f"({config.n_sense_vector}): each sense's query and key are n_embd / "
                f"n_sense_vector wide. Choose, e.g., n_sense_vector in "
                f"{[k for k in (1, 2, 4, 8, 12, 16, 24, 32) if config.n_embd % k == 0]}."
            )
        if config.sense_network not in SENSE_NETWORKS:
            raise ValueError(
                f"sense_network={config.sense_network!r}: choose one of "
                f"{', '.join(repr(n) for n in SENSE_NETWORKS)}"
            )
        self.config = config
        # the contextualization network
        self.transformer = Transformer(config, n_layer=config.n_contextualization_layer)
        self.sense_network = SENSE_NETWORKS[config.sense_network](config)
        # one query and one key of width d/K per sense
        weight_bias = config.bias if config.sense_weight_bias is None else config.sense_weight_bias
        self.sense_weight_net = nn.Linear(config.n_embd, 2 * config.n_embd, bias=weight_bias)
        self.lm_head = nn.Linear(config.n_embd, config.padded_vocab_size, bias=False)
        # one embedding matrix E: the sense network's input, the Transformer's input and the
        # output layer, so sense vectors are read out in the space words are written in
        self.transformer.wte.weight = self.lm_head.weight
        self.apply(self._init_weights)
        self._scale_residual_projections(config.n_layer)
        self._sense_table = None  # cached (V, K, d) for evaluation; see sense_table()
        self._sense_table_key = None

    # --- sense vectors -------------------------------------------------------------------

    def sense_vectors(self, token_ids):
        """token_ids (n,) -> (n, K, d): the K sense vectors of each token."""
        return self.sense_network(self.transformer.wte(token_ids))

    def _sense_parameters_version(self):
        # in-place updates (optimizer steps, load_state_dict, copy_) bump a tensor's _version
        return tuple((p.data_ptr(), p._version) for p in self._sense_parameters())

    def _sense_parameters(self):
        yield self.transformer.wte.weight
        yield from self.sense_network.parameters()

    @torch.compiler.disable  # its reuse test reads the weights' versions: under torch.compile
    # that would be a guard, recompiling this at every evaluation of a training run
    def sense_table(self):
        """(V, K, d): the sense vectors of the whole vocabulary, computed once and reused while
        the weights stay the same (only outside training and gradient recording)."""
        key = self._sense_parameters_version()
        if self._sense_table is None or self._sense_table_key != key:
            device = self.lm_head.weight.device
            # kept in the weights' precision; autocast casts it where it is used
            with torch.no_grad(), torch.autocast(device.type, enabled=False):
                self._sense_table = self.sense_vectors(torch.arange(self.config.vocab_size, device=device))
            self._sense_table_key = key
        return self._sense_table

    def clear_sense_table(self):
        self._sense_table, self._sense_table_key = None, None

    def train(self, mode=True):
        if mode:
            self.clear_sense_table()
        return super().train(mode)

    def _senses(self, idx):
        """(B, T) -> (B, T, K, d)"""
        if not self.training and not torch.is_grad_enabled():
            table, rows = self.sense_table(), idx
        elif self.config.sense_dedup:
            # the sense network is a function of the token id: run it on the distinct ids
            # of the batch and gather (a batch of B*T tokens has far fewer distinct ids)
            unique_ids, rows = torch.unique(idx, return_inverse=True)
            table = self.sense_vectors(unique_ids)
        else:
            return self.sense_vectors(idx)
        # gathered as an embedding lookup: its backward sums in a fixed order, which keeps
        # training runs bit-for-bit repeatable (indexing's backward does not)
        return F.embedding(rows, table.flatten(1)).unflatten(-1, table.shape[1:])

    def _sense_queries_keys(self, h):
        """h (B, T, d) -> per-sense queries and keys (B, K, T, d/K)"""
        B, T, d = h.size()
        K = self.config.n_sense_vector
        q, k = self.sense_weight_net(h).split(d, dim=2)
        if not self.config.sense_scores_scaled:
            # every path divides the scores by sqrt(d/K): unscaled scores are scaled queries
            q = q * math.sqrt(d // K)
        q = q.view(B, T, K, d // K).transpose(1, 2)
        k = k.view(B, T, K, d // K).transpose(1, 2)
        return q, k

    @staticmethod
    def _apply_sense_scale(senses, idx, sense_scale=None, token_sense_scale=None):
        """Interventions. Scaling C(x_j)_k by s_jk scales alpha_kij for every i >= j.
        sense_scale: (B, T, K) factors per position and sense; token_sense_scale: (V, K) factors
        per token id and sense (1 = unchanged, 0 = removed). senses: (B, T, K, d)."""
        for scale in (sense_scale, None if token_sense_scale is None else token_sense_scale[idx]):
            if scale is not None:
                senses = senses * scale.to(senses.dtype).unsqueeze(-1)
        return senses

    # --- forward passes ------------------------------------------------------------------

    def forward(self, idx, targets=None, all_logits=False, sense_scale=None, token_sense_scale=None):
        """sense_scale (B, T, K) and token_sense_scale (V, K): optional interventions, factors
        on the senses of chosen positions or token ids (see _apply_sense_scale)."""
        h = self.transformer(idx)
        q, k = self._sense_queries_keys(h)
        senses = self._apply_sense_scale(self._senses(idx), idx, sense_scale, token_sense_scale)
        o = sense_sum(q, k, senses)
        return self._logits_and_loss(o, targets, all_logits)

    def contextualization(self, idx):
        """alpha (B, K, T, T): alpha[b, k, i, j] is the weight of sense k of token j in the
        prediction at position i (zero for j > i; each row sums to 1)."""
        q, k = self._sense_queries_keys(self.transformer(idx))
        T = idx.size(1)
        scores = (q @ k.transpose(-2, -1)) / math.sqrt(q.size(-1))
        allowed = causal_mask(T, T, idx.device)
        return F.softmax(scores.float().masked_fill(~allowed, float('-inf')), dim=-1)

    def forward_explicit(self, idx, targets=None, sense_scale=None, token_sense_scale=None):
        """The same computation as forward, written out with alpha materialised: for analysis
        and for testing the efficient path. Returns (logits for every position, loss, alpha)."""
        alpha = self.contextualization(idx)
        senses = self._apply_sense_scale(self.sense_vectors(idx), idx, sense_scale, token_sense_scale)
        o = torch.einsum('bkij,bjkd->bid', alpha.to(senses.dtype), senses)
        logits, loss = self._logits_and_loss(o, targets, all_logits=True)
        return logits, loss, alpha

    def new_cache(self):
        return self.transformer.new_cache()  # the KVCache also keeps sense keys and senses

    def forward_cached(self, idx, cache, token_sense_scale=None):
        """Logits (B, T_new, V) for the new tokens idx, given the KVCache of earlier ones
        (which then holds idx too)."""
        q, k = self._sense_queries_keys(self.transformer(idx, cache))
        senses = self._apply_sense_scale(self._senses(idx), idx, None, token_sense_scale)
        k, senses = cache.extend_senses(k, senses)
        cache.advance(idx.size(1))
        T_new, T_all = q.size(2), k.size(2)
        mask = causal_mask(T_new, T_all, idx.device) if T_new > 1 else None
        values = senses.transpose(1, 2).to(q.dtype)  # (B, K, T, d): the K heads' values
        o = F.scaled_dot_product_attention(q, k, values, attn_mask=mask).sum(dim=1)
        return self._mask_padding(self.lm_head(o))

    def forward_flops_per_token(self, T, distinct_fraction=1.0):
        """Forward FLOPs per token: the Transformer and output layer, the sense weight heads
        (d -> 2d, then for each of the K senses a T x d/K score product and a T x d sum of
        sense vectors) and the sense network, run on a distinct_fraction of the tokens."""
        cfg = self.config
        d, K = cfg.n_embd, cfg.n_sense_vector
        weight_heads = 2 * (2 * d * d) + 2 * T * d + 2 * K * T * d
        # its matrices, whichever design (their widths differ between designs)
        sense_network = 2 * sum(
            m.weight.numel() for m in self.sense_network.modules() if isinstance(m, nn.Linear)
        )
        return self._transformer_flops_per_token(T) + weight_heads + distinct_fraction * sense_network


MODEL_CLASSES = {'gpt2': (GPT, GPTConfig), 'backpack-lm': (BackpackLM, BackpackConfig)}


# What a field missing from a saved model_args means: the behaviour of the code that saved it,
# which is not always today's default (the canonical sense network came later)
LEGACY_MODEL_ARGS = {'gpt2': {}, 'backpack-lm': {'sense_network': 'no_embedding_residual'}}


def build_model(model_name, **model_args):
    """model_name 'gpt2' | 'backpack-lm' (the original project's names) -> a new model."""
    if model_name not in MODEL_CLASSES:
        raise ValueError(
            f"unknown model_name {model_name!r}: choose one of {', '.join(repr(n) for n in MODEL_CLASSES)}"
        )
    model_class, config_class = MODEL_CLASSES[model_name]
    known = [f.name for f in dataclasses.fields(config_class)]
    unknown = [k for k in model_args if k not in known]
    if unknown:
        raise ValueError(
            f"unknown model argument(s) {', '.join(unknown)} for {model_name}: known are {', '.join(known)}"
        )
    return model_class(config_class(**model_args))


def model_args_of(model):
    """Every field of the model's configuration: what a checkpoint records, so that it says
    what it is even after defaults change."""
    return dataclasses.asdict(model.config)
