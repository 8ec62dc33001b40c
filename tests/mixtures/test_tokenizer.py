"""The driver reads the tokenizer folder as transformers does, without loading the HF classes."""

from transformers import AutoTokenizer

from mixtures.tokenize import assistant_spans
from mixtures.tokenizer import ChatRenderer, load_tokenizer_info


def test_tokenizer_info_agrees_with_transformers(tokenizer_dir):
    info = load_tokenizer_info(str(tokenizer_dir))
    tok = AutoTokenizer.from_pretrained(str(tokenizer_dir))
    assert info.eos_id == tok.eos_token_id and info.vocab_size == len(tok)
    assert info.chat_template == tok.get_chat_template()
    assert info.special_tokens == {k: v for k, v in tok.special_tokens_map.items() if isinstance(v, str)}
    assert load_tokenizer_info("embedded").hash == info.hash  # `embedded` names the same folder


def test_chat_renderer_matches_apply_chat_template_and_finds_assistant_spans(tokenizer_dir):
    info = load_tokenizer_info(str(tokenizer_dir))
    tok = AutoTokenizer.from_pretrained(str(tokenizer_dir))
    msgs = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "2+2?"},
            {"role": "assistant", "content": "4"}, {"role": "user", "content": "3+3?"},
            {"role": "assistant", "content": "6, of course."}]
    chat = ChatRenderer(info.chat_template, info.special_tokens)
    text, spans = assistant_spans(chat, msgs, {})
    assert text == tok.apply_chat_template(msgs, tokenize=False)
    assert [text[a:b] for a, b in spans] == ["4<|im_end|>", "6, of course.<|im_end|>"]


MARKED = ("{% for m in messages %}<|im_start|>{{ m.role }}\n{% if m.role == 'assistant' %}{% generation %}"
          "{{ m.content }}<|im_end|>{% endgeneration %}{% else %}{{ m.content }}<|im_end|>{% endif %}\n{% endfor %}"
          "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
MSGS = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"},
        {"role": "user", "content": "bye"}, {"role": "assistant", "content": "see you"}]


def test_generation_markers_and_prefix_rendering_give_the_same_spans():
    marked = ChatRenderer(MARKED, {})
    assert marked.marked
    text, spans = assistant_spans(marked, MSGS, {})
    unmarked = ChatRenderer(MARKED.replace("{% generation %}", "").replace("{% endgeneration %}", ""), {})
    assert not unmarked.marked
    assert assistant_spans(unmarked, MSGS, {}) == (text, spans)
    assert [text[a:b] for a, b in spans] == ["hello<|im_end|>", "see you<|im_end|>"]


def test_templates_that_rewrite_earlier_turns_are_refused_with_a_reason():
    import pytest

    from mixtures.tokenize import ChatRenderError

    last_differs = ChatRenderer("{% for m in messages %}{% if loop.last %}LAST {% endif %}{{ m.content }}\n"
                                "{% endfor %}", {})
    with pytest.raises(ChatRenderError) as e:
        assistant_spans(last_differs, MSGS, {})
    assert e.value.reason == "chat_template_not_incremental"
    with pytest.raises(ChatRenderError) as e:
        assistant_spans(last_differs, MSGS[:1], {})
    assert e.value.reason == "no_assistant_turn"
