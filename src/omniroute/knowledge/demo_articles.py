"""Demo knowledge articles: a retail bank's contact centre, in English and Spanish.

Loading is idempotent: an article whose slug exists is left as it is (edits made in the demo stay).
"""

from __future__ import annotations

from dataclasses import dataclass

from omniroute.core.errors import NotFound
from omniroute.knowledge.model import Article, Content, Visibility
from omniroute.knowledge.service import KnowledgeService


@dataclass(frozen=True)
class DemoArticle:
    slug: str
    content: Content


def _article(
    slug: str,
    title: str,
    summary: str,
    language: str,
    tags: tuple[str, ...],
    body: str,
    visibility: Visibility = Visibility.PUBLIC,
) -> DemoArticle:
    return DemoArticle(slug, Content(title, body.strip() + "\n", summary, language, tags, visibility))


DEMO_ARTICLES = (
    _article(
        "lost-or-stolen-card",
        "Report a lost or stolen card",
        "Freeze the card in the app at once, then order a replacement; card payments you did not "
        "make are refunded.",
        "en",
        ("cards", "lost-card", "fraud"),
        """
## Freeze the card straight away

1. Open the app and go to **Cards**.
2. Choose the card and tap **Freeze card**. Payments, cash withdrawals and contactless stop
   immediately; direct debits keep working.
3. If you find the card later, tap **Unfreeze** and carry on using it.

No app? Call the 24-hour card line on **+44 20 7946 0000** (from abroad too).

## Order a replacement

If the card is really gone, tap **Report lost or stolen** under the frozen card. The old card is
cancelled for good and a new one with a **new number** arrives in 3 to 5 working days. Your PIN
stays the same.

## Payments you do not recognise

Tell us about any payment made after you lost the card: we refund it while we investigate. See
*Dispute a card payment you do not recognise*.
""",
    ),
    _article(
        "tarjeta-perdida-o-robada",
        "Tarjeta perdida o robada: cómo bloquearla",
        "Congele la tarjeta en la aplicación al momento y pida una nueva; le devolvemos los cargos que "
        "no haya hecho.",
        "es",
        ("tarjetas", "tarjeta-perdida", "fraude"),
        """
## Congele la tarjeta al momento

1. Abra la aplicación y entre en **Tarjetas**.
2. Elija la tarjeta y pulse **Congelar tarjeta**. Los pagos, las retiradas de efectivo y el pago
   sin contacto se detienen al instante; los recibos domiciliados siguen funcionando.
3. Si la encuentra, pulse **Descongelar** y siga usándola.

¿No tiene la aplicación? Llame a la línea de tarjetas 24 horas: **+34 910 000 000**.

## Pida una tarjeta nueva

Si la ha perdido del todo, pulse **Denunciar pérdida o robo**. La tarjeta antigua queda anulada
y recibirá otra con un **número nuevo** en 3 a 5 días hábiles. El PIN no cambia.

## Cargos que no reconoce

Avísenos de cualquier cargo posterior a la pérdida: se lo devolvemos mientras lo investigamos.
""",
    ),
    _article(
        "transfer-limits",
        "Daily and monthly transfer limits",
        "How much you can send per transfer, per day and per month, and how to raise a limit for one "
        "large payment.",
        "en",
        ("transfers", "limits", "payments"),
        """
## Standard limits

| Transfer type | Per transfer | Per day | Per month |
|---|---:|---:|---:|
| To your own accounts | no limit | no limit | no limit |
| Domestic (instant) | £10,000 | £25,000 | £100,000 |
| International (SWIFT) | £20,000 | £20,000 | £100,000 |
| New payee, first 24 hours | £1,000 | £1,000 | — |

Limits reset at midnight UK time.

## Raising a limit for one payment

For a house deposit or a car, ask for a **one-off limit increase** in the app (**Payments ›
Limits**) or in a branch. We may call you to confirm; have your ID ready. The increase lasts
7 days.

## Why a transfer can be held

Large or unusual transfers can be held for a security check. The customer gets a notification;
the money is not lost and leaves as soon as they confirm.
""",
    ),
    _article(
        "limites-de-transferencias",
        "Límites de transferencias diarios y mensuales",
        "Cuánto puede enviar por transferencia, al día y al mes, y cómo ampliar el límite para un pago "
        "grande.",
        "es",
        ("transferencias", "limites", "pagos"),
        """
## Límites habituales

| Tipo de transferencia | Por operación | Al día | Al mes |
|---|---:|---:|---:|
| Entre sus cuentas | sin límite | sin límite | sin límite |
| Nacional (inmediata) | 10.000 € | 25.000 € | 100.000 € |
| Internacional (SWIFT) | 20.000 € | 20.000 € | 100.000 € |
| Beneficiario nuevo, primeras 24 horas | 1.000 € | 1.000 € | — |

Los límites se renuevan a medianoche (hora peninsular).

## Ampliar el límite para un pago

Para la entrada de una vivienda o un coche, solicite una **ampliación puntual** en la
aplicación (**Pagos › Límites**) o en una oficina. Puede que le llamemos para confirmarlo; tenga a
mano su DNI. La ampliación dura 7 días.

## Por qué se retiene una transferencia

Las transferencias grandes o poco habituales pueden quedar retenidas para una comprobación de
seguridad. El cliente recibe un aviso; el dinero no se pierde y sale en cuanto lo confirma.
""",
    ),
    _article(
        "reset-online-banking-password",
        "Reset your online banking password",
        "Forgotten password or locked out after three attempts: reset it yourself with your card and a "
        "code sent to your phone.",
        "en",
        ("login", "password", "security"),
        """
## Forgotten password

1. On the sign-in page choose **Forgotten your password?**
2. Enter your customer number and the last four digits of your debit card.
3. Type the 6-digit code we text to your registered mobile number.
4. Choose a new password: at least 10 characters, not one of your last five.

## Locked out after three attempts

Online banking locks after **three wrong passwords**. The lock lifts by itself after 24 hours,
or at once when you reset the password as above.

## No longer have that phone number?

The code can only go to the number we hold. Customers must update it in a branch or by calling
us, after an identity check; it then takes 24 hours before codes are sent there.

We never ask for your full password or a code by phone, chat or email.
""",
    ),
    _article(
        "restablecer-contrasena-banca-online",
        "Restablecer la contraseña de la banca online",
        "¿Ha olvidado la contraseña o se ha bloqueado tras tres intentos? Restablézcala usted mismo con "
        "su tarjeta y un código SMS.",
        "es",
        ("acceso", "contraseña", "seguridad"),
        """
## Ha olvidado la contraseña

1. En la página de acceso elija **¿Ha olvidado su contraseña?**
2. Escriba su número de cliente y los cuatro últimos dígitos de su tarjeta de débito.
3. Introduzca el código de 6 cifras que le enviamos por SMS a su móvil registrado.
4. Elija una contraseña nueva: al menos 10 caracteres y distinta de las cinco anteriores.

## Acceso bloqueado tras tres intentos

La banca online se bloquea tras **tres contraseñas incorrectas**. El bloqueo se levanta solo a
las 24 horas, o al momento si restablece la contraseña como se indica arriba.

## Ya no tiene ese número de móvil

El código solo puede ir al número que tenemos. Hay que cambiarlo en una oficina o por teléfono,
tras verificar la identidad; los códigos se envían al número nuevo pasadas 24 horas.

Nunca le pediremos la contraseña completa ni un código por teléfono, chat o correo.
""",
    ),
    _article(
        "dispute-card-payment",
        "Dispute a card payment you do not recognise",
        "Check the merchant name first, then raise a dispute in the app; we refund within 2 working "
        "days while we investigate.",
        "en",
        ("cards", "disputes", "fraud", "refunds"),
        """
## Check first

Many "unknown" payments are real ones under a different trading name (for example a parent
company or a payment processor). Tap the payment to see the merchant's details and location.

## Raise a dispute

1. In the app, tap the payment and choose **I don't recognise this**.
2. If the card may be compromised, freeze it (see *Report a lost or stolen card*).
3. We refund the amount within **2 working days** while we investigate, and write within 30 days.

Disputes must be raised within **13 months** of the payment date.

## Subscriptions you cancelled

If a merchant keeps charging after you cancelled, send us the cancellation email: that is a
dispute with the merchant, not fraud, and the card does not need replacing.
""",
    ),
    _article(
        "verify-caller-identity",
        "Identity check before account changes (agents)",
        "Internal procedure: the checks an agent completes before changing contact details, limits or "
        "cards, on any channel.",
        "en",
        ("security", "procedure", "identity"),
        """
## When the check is required

Before you change a **phone number, email or address**, raise a **transfer limit**, order a
**replacement card** to a new address, or discuss a **dispute** in detail.

## How to check

1. Ask for the customer number and date of birth.
2. Send a one-time code from the customer 360 panel (**Verify › Send code**) to the phone we
   already hold, never to a number given in the conversation.
3. The customer reads the code back; the panel shows **Verified** for this conversation only.

## Never

- Never ask for the full password, full card number or PIN.
- Never accept a code sent to a number the customer has just given you.

If the customer cannot pass the check, offer a branch appointment and transfer to the
**Security** queue with a note.
""",
        visibility=Visibility.INTERNAL,
    ),
)


async def load_demo_articles(knowledge: KnowledgeService, author_id: str | None) -> list[Article]:
    """Create and publish the demo articles that are not there yet; return them all."""
    loaded: list[Article] = []
    for demo in DEMO_ARTICLES:
        try:
            loaded.append(await knowledge.get_by_slug(demo.slug, is_author=True))
            continue
        except NotFound:
            pass
        created = await knowledge.create(demo.content, author_id=author_id, slug=demo.slug)
        loaded.append(await knowledge.publish(created.id, expected_version=created.version, by=author_id))
    return loaded
