"""Reasoning traces: kept apart from the answer through the OpenAI-compatible backend (a loopback server
replaying a recorded vLLM reply with a reasoning parser), split off `<think>` blocks the same way for
local backends, stored in the message's `reasoning_content`; and think budgets cut at exact token counts."""

import json

import pytest

from dataforge import CallCache, Graph, LLMNode, Sampling, generate
from dataforge.backends.base import Completion, split_reasoning, with_reasoning
from dataforge.backends.openai import OpenAIBackend
from dataforge.core.records import load_metadata
from dataforge.recipes import MathProblem, math_problems
from dataforge.recipes.think_budget import ThinkBudget
from tests.reliability.fake_openai import serve

# A chat completion as `vllm serve --reasoning-parser deepseek_r1` returns it (ids and counts shortened).
RECORDED = {
    "id": "chatcmpl-7f3a", "object": "chat.completion", "created": 1764806400, "model": "reasoner",
    "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None,
                 "message": {"role": "assistant", "content": "\n\nThe total is \\boxed{50}.",
                             "reasoning_content": "28 + 27 = 55, and 55 - 5 = 50.", "tool_calls": []}}],
    "usage": {"prompt_tokens": 41, "completion_tokens": 23, "total_tokens": 64},
}


class Solved(MathProblem):
    solution: str
    thinking: str


@pytest.mark.parametrize(("text", "reasoning", "answer"), [
    ("<think>2+2=4</think>\n\nIt is 4.", "2+2=4", "It is 4."),
    ("  <think>\nhmm\n</think>It is 4.", "hmm", "It is 4."),
    ("2+2=4 so...</think>\n\nIt is 4.", "2+2=4 so...", "It is 4."),  # the template opened the block
    ("<think>still thinking when tokens ran", "still thinking when tokens ran", ""),
    ("No think block here.", None, "No think block here."),
])
def test_split_reasoning_reads_think_blocks_as_vllm_parsers_do(text, reasoning, answer):
    assert split_reasoning(text) == (reasoning, answer)


def test_local_backends_split_the_same_way_and_leave_plain_replies_alone():
    c = with_reasoning(Completion("<think>a</think>b", "stop", 5))
    assert (c.text, c.reasoning, c.tokens) == ("b", "a", 5)
    plain = Completion("just text")
    assert with_reasoning(plain) is plain and plain.reasoning is None


def test_openai_backend_keeps_reasoning_content():
    with serve() as fake:
        fake.recorded = RECORDED
        llm = OpenAIBackend("reasoner", base_url=fake.url, max_retries=0)
        [c] = llm.generate([[{"role": "user", "content": "q"}]], Sampling(max_tokens=64))
    assert c.reasoning == "28 + 27 = 55, and 55 - 5 = 50."
    assert c.text.strip() == "The total is \\boxed{50}." and c.finish_reason == "stop" and c.tokens == 23
    assert c.to_json()["reasoning"] == c.reasoning


def test_reasoning_reaches_the_struct_the_sft_message_and_survives_the_cache(tmp_path):
    node = LLMNode("solve", MathProblem, Solved, prompt="{{ question }}", reply="solution", reasoning="thinking",
                   sampling=Sampling(max_tokens=64))
    graph = Graph("reason", MathProblem, [node])
    problems = math_problems(1)
    with serve() as fake:
        fake.recorded = RECORDED
        llm = OpenAIBackend("reasoner", base_url=fake.url, max_retries=0)
        first = generate(graph, problems, backend=llm, cache=CallCache(tmp_path), emit_calls=True)
        again = generate(graph, problems, backend=llm, cache=CallCache(tmp_path), emit_calls=True)
    assert again.stats.totals["cache_hits"] == 1 and again.records == first.records and again.calls == first.calls
    out = load_metadata(first.records[0]["metadata"])["generator"]["steps"][-1]["output"]
    assert out["thinking"] == "28 + 27 = 55, and 55 - 5 = 50." and out["solution"] == "The total is \\boxed{50}."
    reply = first.calls[0]["messages"][-1]
    assert reply["role"] == "assistant" and reply["reasoning_content"] == out["thinking"]
    assert "<think>" not in json.dumps(first.calls[0]["messages"])


def test_reasoning_field_must_be_a_new_str_field():
    from dataforge.core.errors import ForgeError

    with pytest.raises(ForgeError, match="reasoning field 'question'"):
        LLMNode("solve", MathProblem, Solved, prompt="{{ question }}", reply="solution", reasoning="question")


@pytest.fixture(scope="module")
def budget_tokenizer():
    return ThinkBudget(1).tokenizer  # the embedded model's tokenizer, loaded once


TRACE = ("First I add twelve and thirty-five: 12 + 35 = 47. Then I take away nine, which leaves 38. "
         "Checking again: 47 - 9 = 38, so the answer is 38. Naïve café résumé, 東京.")


@pytest.mark.parametrize("budget", [1, 7, 20, 33])
def test_think_budget_cuts_at_exactly_b_target_tokens(budget, budget_tokenizer):
    b = ThinkBudget(budget)
    b.__dict__["tokenizer"] = budget_tokenizer
    cut = b.cut(TRACE)
    assert cut is not None and cut.tokens == budget == b.count(cut.text)
    assert cut.original_tokens == b.count(TRACE) > budget and TRACE.startswith(cut.text)
    content = b.content(cut, "The answer is 38.")
    assert content == f"<think>\n{cut.text}</think>\n\nThe answer is 38."


def test_think_budget_keeps_only_traces_over_budget(budget_tokenizer):
    b = ThinkBudget(10_000)
    b.__dict__["tokenizer"] = budget_tokenizer
    assert b.cut(TRACE) is None and b.sample("q", TRACE, "38") is None
    small = ThinkBudget(5)
    small.__dict__["tokenizer"] = budget_tokenizer
    user, assistant = small.sample("What is 47 - 9?", TRACE, " 38 ")
    assert user == {"role": "user", "content": "What is 47 - 9?"}
    assert assistant["content"] == "38" and small.count(assistant["reasoning_content"]) == 5
