// A checkpoint in the Hugging Face Llama layout, for people who outgrow one machine: PyTorch
// training stacks (transformers, torchtitan, FSDP) load it to continue training, and vLLM or TGI
// serve it (with tetra's gateway in front through the upstream engine).
//
//   config.json             LlamaForCausalLM: sizes, rms_norm_eps, rope_theta, tied embeddings
//   model.safetensors       HF tensor names (model.layers.N.self_attn.q_proj.weight, ...)
//   generation_config.json  bos and eos (<|end|> closes an assistant turn, <|endoftext|> a document)
//   tokenizer.json          the tokenizers library's format: byte-level BPE, the pre-tokenisation
//                           regex, tetra's specials as added tokens
//   tokenizer_config.json   the chat template (Jinja) that renders tetra's chat format
//
// The one real transformation is RoPE's pairing. tetra rotates adjacent pairs (x[2i], x[2i+1])
// within a head, as Meta's original Llama and llama.cpp do; HF's modeling_llama rotates halves
// (x[i], x[i + HS/2]). So q_proj and k_proj rows are permuted within each head: HF row
// r * HS/2 + i is tetra row 2i + r. Scores are unchanged because q and k move together.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gpt2Export, type Tokenizer } from '../../tokenizer/index.ts';
import { headSize, requireParams, type GPTConfig } from '../config.ts';
import { writeSafetensors, type TensorIn } from './safetensors.ts';

export interface HFExportOptions {
  dtype?: 'F32' | 'F16';
}

/** tetra's interleaved RoPE rows to HF's half-split order, head by head ([C_out, C_in] row-major). */
export function permuteRopeRows(w: Float32Array, nHead: number, headDim: number, cols: number): Float32Array {
  const out = new Float32Array(w.length),
    half = headDim / 2;
  for (let h = 0; h < nHead; h++)
    for (let r = 0; r < 2; r++)
      for (let i = 0; i < half; i++) {
        const src = (h * headDim + 2 * i + r) * cols,
          dst = (h * headDim + r * half + i) * cols;
        out.set(w.subarray(src, src + cols), dst);
      }
  return out;
}

/** The HF Llama tensors for a tetra model (names and shapes as transformers' LlamaForCausalLM). */
export function hfTensors(config: GPTConfig, params: Map<string, Float32Array>): [string, TensorIn][] {
  requireParams(config, params, 'export hf');
  const C = config.nEmbd,
    H = config.mlpHidden,
    V = config.vocabSize,
    NH = config.nHead,
    HS = headSize(config);
  const P = (name: string) => params.get(name)!;
  const t: [string, TensorIn][] = [['model.embed_tokens.weight', { shape: [V, C], data: P('wte') }]];
  for (let l = 0; l < config.nLayer; l++) {
    const p = (k: string) => P(`blocks.${l}.${k}`),
      b = `model.layers.${l}`;
    const gateUp = p('w_gate_up'); // [2H, C]: rows 0..H-1 gate, H..2H-1 up
    t.push(
      [`${b}.input_layernorm.weight`, { shape: [C], data: p('attn_norm') }],
      [`${b}.self_attn.q_proj.weight`, { shape: [C, C], data: permuteRopeRows(p('wq'), NH, HS, C) }],
      [`${b}.self_attn.k_proj.weight`, { shape: [C, C], data: permuteRopeRows(p('wk'), NH, HS, C) }],
      [`${b}.self_attn.v_proj.weight`, { shape: [C, C], data: p('wv') }],
      [`${b}.self_attn.o_proj.weight`, { shape: [C, C], data: p('wo') }],
      [`${b}.post_attention_layernorm.weight`, { shape: [C], data: p('mlp_norm') }],
      [`${b}.mlp.gate_proj.weight`, { shape: [H, C], data: gateUp.subarray(0, H * C) }],
      [`${b}.mlp.up_proj.weight`, { shape: [H, C], data: gateUp.subarray(H * C, 2 * H * C) }],
      [`${b}.mlp.down_proj.weight`, { shape: [C, H], data: p('w_down') }],
    );
  }
  t.push(['model.norm.weight', { shape: [C], data: P('norm_f') }]);
  if (!config.tiedEmbeddings) t.push(['lm_head.weight', { shape: [V, C], data: P('lm_head') }]);
  return t;
}

/** transformers' LlamaConfig for a tetra model. */
export function hfConfig(config: GPTConfig, tok: Tokenizer, dtype: 'F32' | 'F16'): Record<string, unknown> {
  return {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    hidden_size: config.nEmbd,
    intermediate_size: config.mlpHidden,
    num_hidden_layers: config.nLayer,
    num_attention_heads: config.nHead,
    num_key_value_heads: config.nHead,
    head_dim: headSize(config),
    max_position_embeddings: config.contextLength,
    rms_norm_eps: config.normEps,
    rope_theta: config.ropeBase,
    rope_scaling: null,
    vocab_size: config.vocabSize,
    tie_word_embeddings: config.tiedEmbeddings,
    hidden_act: 'silu',
    attention_bias: false,
    attention_dropout: 0,
    mlp_bias: false,
    initializer_range: 0.02,
    pretraining_tp: 1,
    use_cache: true,
    bos_token_id: tok.special('<|bos|>'),
    eos_token_id: [tok.special('<|end|>'), tok.special('<|endoftext|>')],
    torch_dtype: dtype === 'F16' ? 'float16' : 'float32',
  };
}

/** The chat template (Jinja, as transformers and vLLM render it) of tetra's chat format (src/tokenizer/chat.ts). */
export const HF_CHAT_TEMPLATE =
  "{{ '<|bos|>' }}{% for message in messages %}{{ '<|' + message['role'] + '|>' }}" +
  "{% if message['content'] is string %}{{ message['content'] }}{% else %}{% for part in message['content'] %}" +
  "{% if part['type'] == 'text' %}{{ part['text'] }}{% endif %}{% endfor %}{% endif %}{{ '<|end|>' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|assistant|>' }}{% endif %}";

/** tokenizer.json in the tokenizers library's format: the same ids for the same text. */
export function hfTokenizerJSON(tok: Tokenizer, vocabSize: number): Record<string, unknown> {
  // The gpt2 spelling GGUF uses too: bytes as printable characters, merges in rank order.
  const { tokens, merges } = gpt2Export(tok);
  const vocab: Record<string, number> = {};
  for (let id = 0; id < tok.vocabSize; id++) vocab[tokens[id]] = id;
  const added = Object.entries(tok.specials)
    .filter(([, id]) => id < vocabSize)
    .sort((a, b) => a[1] - b[1])
    .map(([content, id]) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }));
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: null,
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: tok.pattern }, behavior: 'Isolated', invert: false },
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
      ],
    },
    post_processor: null,
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges,
    },
  };
}

/** Writes the HF directory; returns the files written. */
export function exportHF(
  dir: string,
  config: GPTConfig,
  params: Map<string, Float32Array>,
  tok: Tokenizer,
  opts: HFExportOptions = {},
): string[] {
  const dtype = opts.dtype ?? 'F32';
  const tensors = hfTensors(config, params); // validates before anything is written
  if (tok.idLimit > config.vocabSize)
    throw new Error(`export hf: the tokenizer has ${tok.idLimit} ids but the model only ${config.vocabSize} embedding rows`);
  mkdirSync(dir, { recursive: true });
  const json = (name: string, v: unknown) => writeFileSync(join(dir, name), `${JSON.stringify(v, null, 2)}\n`);
  writeSafetensors(join(dir, 'model.safetensors'), tensors, { dtype, metadata: { format: 'pt' } });
  json('config.json', hfConfig(config, tok, dtype));
  json('generation_config.json', {
    bos_token_id: tok.special('<|bos|>'),
    eos_token_id: [tok.special('<|end|>'), tok.special('<|endoftext|>')],
  });
  json('tokenizer.json', hfTokenizerJSON(tok, config.vocabSize));
  json('tokenizer_config.json', {
    tokenizer_class: 'PreTrainedTokenizerFast',
    bos_token: '<|bos|>',
    eos_token: '<|end|>',
    pad_token: '<|endoftext|>',
    add_bos_token: false,
    add_eos_token: false,
    clean_up_tokenization_spaces: false,
    model_max_length: config.contextLength,
    chat_template: HF_CHAT_TEMPLATE,
  });
  return ['config.json', 'model.safetensors', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json'];
}
