"""The school levels as the maps name them (their filter, popups and titles)."""

# the MIM school levels (school.scuola.livello) as a reader names them
LEVELS = {
    "infanzia": "infanzia",
    "primaria": "primaria",
    "secondaria_i": "secondaria di I grado",
    "secondaria_ii": "secondaria di II grado",
    "istituto_comprensivo": "istituto comprensivo",
    "istituto_superiore": "istituto superiore",
    "cpia": "CPIA (istruzione degli adulti)",
    "convitto": "convitto",
}
