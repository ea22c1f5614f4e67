import pytest

from textkit import camel_case, kebab_case, snake_case


@pytest.mark.parametrize(
    "text,snake,kebab,camel",
    [
        ("Hello World 2", "hello_world_2", "hello-world-2", "helloWorld2"),
        ("user-ID lookup", "user_id_lookup", "user-id-lookup", "userIdLookup"),
        ("  already_snake  ", "already_snake", "already-snake", "alreadySnake"),
        ("", "", "", ""),
    ],
)
def test_cases(text, snake, kebab, camel):
    assert snake_case(text) == snake
    assert kebab_case(text) == kebab
    assert camel_case(text) == camel
