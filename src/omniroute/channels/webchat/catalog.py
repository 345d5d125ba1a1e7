"""The widget's words, per language. The widget's script holds no UI text: it gets these strings
from the config endpoint. ``{name}``-style placeholders are filled in by the widget. Pure."""

from __future__ import annotations

from collections.abc import Mapping

DEFAULT_LANGUAGE = "en"

EN: dict[str, str] = {
    "launcher": "Chat with us",
    "launcher_unread_one": "Chat with us (1 new message)",
    "launcher_unread_many": "Chat with us ({count} new messages)",
    "title": "Chat with us",
    "subtitle": "We usually reply in a few minutes.",
    "minimise": "Minimise chat",
    "prechat_intro": "Tell us a little about you and we will connect you.",
    "name": "Name",
    "email": "Email",
    "email_optional": "Email (optional)",
    "topic": "Topic",
    "no_preference": "No preference",
    "choose_option": "Choose…",
    "question": "How can we help?",
    "optional_suffix": "(optional)",
    "start": "Start chat",
    "signed_in_as": "Signed in as {name}",
    "name_required": "Please tell us your name.",
    "email_required": "Please give us your email address.",
    "answer_required": "Please answer: {label}",
    "messages_label": "Messages",
    "agent_typing": "Agent is typing…",
    "new_chat": "Start a new chat",
    "ended_thanks": "This chat has ended. Thanks for getting in touch!",
    "input_label": "Message",
    "input_placeholder": "Type a message…",
    "send": "Send",
    "end": "End chat",
    "you": "You",
    "retry": "Not sent — retry",
    "status_ended": "This chat has ended.",
    "status_reconnecting": "Connection lost — reconnecting…",
    "status_connecting": "Connecting…",
    "status_waiting": "Your agent will be right back.",
    "status_with_agent": "You are chatting with {name}.",
    "status_agent_joined": "An agent has joined the chat.",
    "place_unknown": "Waiting for an agent… you are in the queue.",
    "place_next": "You are next in the queue.",
    "place_number": "You are number {position} in the queue.",
    "place_no_agents": "Waiting for an agent to sign in…",
    "wait_one": "Estimated wait: about 1 minute.",
    "wait_many": "Estimated wait: about {minutes} minutes.",
    "error_generic": "Something went wrong. Please try again.",
    "error_network": "Cannot reach the chat service. Check your connection.",
    "csat_legend": "How was your chat?",
    "csat_rating_1": "1 star, very poor",
    "csat_rating_2": "2 stars, poor",
    "csat_rating_3": "3 stars, fair",
    "csat_rating_4": "4 stars, good",
    "csat_rating_5": "5 stars, excellent",
    "csat_comment": "Anything you would like to add? (optional)",
    "csat_submit": "Send feedback",
    "csat_choose": "Please choose a rating.",
    "csat_thanks": "Thank you for your feedback!",
    "transcript_download": "Download transcript",
    "transcript_download_text": "Plain text",
    "transcript_actions": "Transcript",
    "transcript_email": "Email me the transcript",
    "transcript_email_label": "Email address for the transcript",
    "transcript_email_send": "Send transcript",
    "transcript_sent": "We are sending the transcript to {email}.",
    "offline_title": "We are away right now",
    "offline_intro": "Leave us a message and we will reply by email.",
    "offline_next_opening": "We are back {when}.",
    "offline_message": "Your message",
    "offline_send": "Send message",
    "offline_thanks": "Thank you! We have your message and will reply by email.",
    "offline_unavailable": "Chat is closed right now. Please come back later.",
    "invite_label": "Chat invitation",
    "invite_accept": "Chat now",
    "invite_dismiss": "No thanks",
    "transcript_title": "Chat transcript",
    "transcript_started": "Started",
}

ES: dict[str, str] = {
    "launcher": "Chatea con nosotros",
    "launcher_unread_one": "Chatea con nosotros (1 mensaje nuevo)",
    "launcher_unread_many": "Chatea con nosotros ({count} mensajes nuevos)",
    "title": "Chatea con nosotros",
    "subtitle": "Solemos responder en pocos minutos.",
    "minimise": "Minimizar el chat",
    "prechat_intro": "Cuéntanos un poco sobre ti y te pondremos en contacto.",
    "name": "Nombre",
    "email": "Correo electrónico",
    "email_optional": "Correo electrónico (opcional)",
    "topic": "Tema",
    "no_preference": "Sin preferencia",
    "choose_option": "Elige…",
    "question": "¿En qué podemos ayudarte?",
    "optional_suffix": "(opcional)",
    "start": "Iniciar chat",
    "signed_in_as": "Has iniciado sesión como {name}",
    "name_required": "Por favor, dinos tu nombre.",
    "email_required": "Por favor, indícanos tu correo electrónico.",
    "answer_required": "Por favor, responde: {label}",
    "messages_label": "Mensajes",
    "agent_typing": "El agente está escribiendo…",
    "new_chat": "Iniciar un nuevo chat",
    "ended_thanks": "El chat ha terminado. ¡Gracias por contactar con nosotros!",
    "input_label": "Mensaje",
    "input_placeholder": "Escribe un mensaje…",
    "send": "Enviar",
    "end": "Terminar chat",
    "you": "Tú",
    "retry": "No enviado: reintentar",
    "status_ended": "El chat ha terminado.",
    "status_reconnecting": "Conexión perdida: reconectando…",
    "status_connecting": "Conectando…",
    "status_waiting": "Tu agente volverá enseguida.",
    "status_with_agent": "Estás chateando con {name}.",
    "status_agent_joined": "Un agente se ha unido al chat.",
    "place_unknown": "Esperando a un agente… estás en la cola.",
    "place_next": "Eres el siguiente en la cola.",
    "place_number": "Eres el número {position} en la cola.",
    "place_no_agents": "Esperando a que se conecte un agente…",
    "wait_one": "Espera estimada: alrededor de 1 minuto.",
    "wait_many": "Espera estimada: alrededor de {minutes} minutos.",
    "error_generic": "Algo ha ido mal. Inténtalo de nuevo.",
    "error_network": "No se puede contactar con el servicio de chat. Comprueba tu conexión.",
    "csat_legend": "¿Qué tal ha ido el chat?",
    "csat_rating_1": "1 estrella, muy mal",
    "csat_rating_2": "2 estrellas, mal",
    "csat_rating_3": "3 estrellas, regular",
    "csat_rating_4": "4 estrellas, bien",
    "csat_rating_5": "5 estrellas, excelente",
    "csat_comment": "¿Quieres añadir algo? (opcional)",
    "csat_submit": "Enviar valoración",
    "csat_choose": "Por favor, elige una valoración.",
    "csat_thanks": "¡Gracias por tu valoración!",
    "transcript_download": "Descargar la transcripción",
    "transcript_download_text": "Texto sin formato",
    "transcript_actions": "Transcripción",
    "transcript_email": "Enviarme la transcripción por correo",
    "transcript_email_label": "Correo electrónico para la transcripción",
    "transcript_email_send": "Enviar transcripción",
    "transcript_sent": "Estamos enviando la transcripción a {email}.",
    "offline_title": "Ahora no estamos disponibles",
    "offline_intro": "Déjanos un mensaje y te responderemos por correo electrónico.",
    "offline_next_opening": "Volvemos {when}.",
    "offline_message": "Tu mensaje",
    "offline_send": "Enviar mensaje",
    "offline_thanks": "¡Gracias! Hemos recibido tu mensaje y te responderemos por correo.",
    "offline_unavailable": "El chat está cerrado ahora. Vuelve más tarde, por favor.",
    "invite_label": "Invitación al chat",
    "invite_accept": "Chatear ahora",
    "invite_dismiss": "No, gracias",
    "transcript_title": "Transcripción del chat",
    "transcript_started": "Inicio",
}

CATALOG: dict[str, dict[str, str]] = {"en": EN, "es": ES}
LANGUAGES: tuple[str, ...] = tuple(CATALOG)
STRING_KEYS: frozenset[str] = frozenset(EN)


def pick_language(setting: str, requested: str | None) -> str:
    """The widget's fixed language, else the visitor's (``es-MX`` → ``es``), else English."""
    if setting in CATALOG:
        return setting
    for tag in (requested or "").replace(" ", "").split(","):
        base = tag.split(";", 1)[0].split("-", 1)[0].split("_", 1)[0].lower()
        if base in CATALOG:
            return base
    return DEFAULT_LANGUAGE


def strings_for(language: str, overrides: Mapping[str, Mapping[str, str]] | None = None) -> dict[str, str]:
    """Every string for ``language``: English fills any gap, then the widget's own overrides."""
    merged = {**EN, **CATALOG.get(language, {})}
    merged.update((overrides or {}).get(language, {}))
    return merged
