"""The handoff summary is a few labelled lines a person reads in seconds, not a transcript."""

from agent.graphs.receptionist.nodes import handoff_summary
from agent.llm.types import AssistantMessage, UserMessage


def test_summary_says_why_what_facts_and_what_the_bot_said() -> None:
    history = [
        UserMessage(text="Hola, soy <PERSON_1>, mi correo es <EMAIL_1>"),
        AssistantMessage(text="¡Hola! Soy el asistente de IA de la clínica."),
        UserMessage(text="¿Tenéis cita el jueves?"),
        AssistantMessage(text="Abrimos de 9:00 a 19:00 de lunes a viernes."),
        UserMessage(text="Me duele mucho una muela desde ayer y necesito que me vean"),
        AssistantMessage(text="Lo siento, no encuentro esa información."),
    ]
    summary = handoff_summary(
        "the customer asked for a person", "es", history, "Quiero hablar con una persona"
    )
    lines = summary.splitlines()
    assert lines[0] == "Reason: the customer asked for a person."
    assert "Customer wants: Quiero hablar con una persona" in lines
    assert "Before that: Me duele mucho una muela desde ayer y necesito que me vean" in lines
    assert "Facts given: person <PERSON_1>; email <EMAIL_1>" in lines
    assert "Bot already said: Lo siento, no encuentro esa información." in lines
    assert len(lines) <= 6 and "¿Tenéis cita el jueves?" not in summary  # not a transcript dump


def test_long_messages_are_clipped_at_a_word() -> None:
    summary = handoff_summary("repeated failure to answer", "en", [], "word " * 100)
    wants = next(line for line in summary.splitlines() if line.startswith("Customer wants:"))
    assert wants.endswith("…") and len(wants) < 200
    assert "Bot already said: nothing yet" in summary and "Facts given: none" in summary
