"""The word state machine: which text tokens the model reads each step, and when each word is consumed.

The model proposes an action each step (0 pad, 1 new word); the machine overrides it while a word's tokens
are pending, while forced padding remains, and when the padding budget is spent, then emits the tokens of
the main stream and of the look-ahead stream. The steps at which words are consumed are the word timestamps.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from .config import MAX_PADDING
from .script import Entry

PAD_ACTION, NEW_WORD_ACTION = 0, 1


@dataclass
class WordState:
    entries: deque[Entry]
    budget: int
    forced_padding: int
    pending: deque[int] = field(default_factory=deque)
    lookahead: deque[int] = field(default_factory=deque)
    end_step: int | None = None
    transcript: list[tuple[str, int]] = field(default_factory=list)  # (word, consumption step)

    @classmethod
    def start(cls, entries: list[Entry], initial_padding: int) -> "WordState":
        return cls(deque(entries), initial_padding, initial_padding)


class StateMachine:
    def __init__(self, new_word_id: int, pad_id: int, second_stream_ahead: int):
        self.new_word, self.pad, self.ahead = new_word_id, pad_id, second_stream_ahead

    def step(self, step: int, state: WordState, action: int, forced: bool = False) -> tuple[int, int, bool]:
        """One call: (main token, second token, whether an entry was popped). `action`: 0/1 from the model,
        or for a forced (prefix warm-up) call the text id it forces (new word or pad)."""
        new_word = action == NEW_WORD_ACTION or action == self.new_word
        if state.pending:
            new_word = False
        elif forced:
            pass
        elif state.forced_padding > 0:
            new_word = False
        elif state.budget <= 0:
            new_word = True
        consumed = False
        if new_word:
            if state.entries:
                entry = state.entries.popleft()
                consumed = True
                if entry.tokens:
                    state.transcript.append((entry.text, step))
                    state.pending.extend(entry.tokens)
                    if self.ahead:
                        state.lookahead.extend(self._peek(state, self.ahead))
                    state.budget = MAX_PADDING
                else:
                    new_word = False  # a break: its own step already pads
                state.forced_padding = entry.padding
            else:
                new_word = self.ahead > 0 and state.end_step is None
                if state.end_step is None:
                    state.end_step = step
        if not new_word:
            state.budget -= state.budget > 0
            state.forced_padding -= state.forced_padding > 0
            main = state.pending.popleft() if state.pending else self.pad
        else:
            main = self.new_word
        if not self.ahead:
            return main, main, consumed
        if main == self.new_word and new_word:
            return (state.pending.popleft() if state.pending else self.pad), self.new_word, consumed
        return main, (state.lookahead.popleft() if state.lookahead else self.pad), consumed

    @staticmethod
    def _peek(state: WordState, count: int) -> tuple[int, ...]:
        """The tokens of the count-th token-bearing entry still queued (words 0 and 1 never look ahead)."""
        for entry in state.entries:
            if entry.tokens:
                count -= 1
                if count == 0:
                    return entry.tokens
        return ()
