"""Sentence structures of the miniature parliament: procedural remarks, votes, budgets, regions,
questions to the Commission, statements with embedded clauses... Each structure returns the
(English tokens, French tokens) of one sentence pair.

Most structures are parallel templates (syntax in phrases.py) whose {clause} slots hold either a
clause built from the lexicon's verb frames or a scene of a polysemous word (senses.py); the others
are functions that build questions, relative clauses, infinitives and imperatives with clauses.py.
"""

from __future__ import annotations

from collections.abc import Callable

from . import french
from .clauses import ADJECTIVES, VERBS, Gen, Pronoun
from .lexicon import Verb
from .phrases import Filler, Lit, Template, Token, words

TokenPair = tuple[list[Token], list[Token]]  # (English tokens, French tokens) of one sentence

# (name, weight, English, French). Weights below 1 for structures with few variants.
TEMPLATES = [
    ("thanks_rapporteur", 1, "Mr President, I would like to thank the rapporteur, {person}, for {person:his/her} excellent report on {domain}, because {clause}.",
     "Monsieur le Président, je voudrais remercier le rapporteur, {person}, pour son excellent rapport sur {domain}, car {clause}."),
    ("ladies_and_gentlemen", 1, "(Mr President|Madam President), ladies and gentlemen, {clause}.",
     "(Monsieur le Président|Madame la Présidente), Mesdames et Messieurs, {clause}."),
    ("next_item", 1, "The next item is the report by {person}, on behalf of the Committee on {domain}, on {doc}.",
     "L'ordre du jour appelle le rapport {de person}, au nom de la commission {de domain}, sur {doc}."),
    ("debate_closed", 0.3, "The debate is closed. The vote will take place (tomorrow|today|on {day}) at {clock}.",
     "Le débat est clos. Le vote aura lieu (demain|aujourd'hui|{day}) à {clock}."),
    ("voted_for", 1, "I voted in favour of {doc}, because {clause}.",
     "j'ai voté en faveur {de doc}, parce que {clause}."),
    ("voted_against", 1, "I voted against {doc}, since {clause}.",
     "j'ai voté contre {doc}, car {clause}."),
    ("abstained", 1, "We abstained in the vote on {doc}, because {clause}.",
     "nous nous sommes abstenus lors du vote sur {doc}, parce que {clause}."),
    ("point_out", 1, "I would like to point out that {clause}.",
     "je voudrais souligner que {clause}."),
    ("must_not_forget", 1, "We must not forget that {clause}.",
     "nous ne devons pas oublier que {clause}."),
    ("it_is_clear", 1, "It is clear that {clause}, and the Commission must act (quickly|now).",
     "il est clair que {clause}, et la Commission doit agir (rapidement|maintenant)."),
    ("according_to", 1, "According to {doc}, {clause}.",
     "selon {doc}, {clause}."),
    ("in_region", 1, "In {region}, {clause}, (and|while) {clause2}.",
     "{en region}, {clause}, (et|tandis que) {clause2}."),
    ("commission_informed", 1, "The Commission has informed us that {clause}.",
     "la Commission nous a informés que {clause}."),
    ("convinced", 1, "I am convinced that {clause}.",
     "je suis convaincu que {clause}."),
    ("hope", 1, "I hope that {clause}, as {person} (said|suggested) in the debate.",
     "j'espère que {clause}, comme l'a (dit|suggéré) {person} au cours du débat."),
    ("we_note", 1, "We note that {clause}, (which is a positive development|which is unacceptable).",
     "nous constatons que {clause}, (ce qui constitue une évolution positive|ce qui est inacceptable)."),
    ("person_said", 1, "{person} (said|stressed|recalled) that {clause}.",
     "{person} a (dit|souligné|rappelé) que {clause}."),
    ("person_asked", 1, "{person} asked whether {clause}.",
     "{person} a demandé si {clause}."),
    ("remind", 1, "Let me remind you that {clause}.",
     "permettez-moi de vous rappeler que {clause}."),
    ("on_behalf_of_group", 1, "On behalf of the {group}, I would like to say that {clause}.",
     "au nom du {group}, je voudrais dire que {clause}."),
    ("despite", 1, "Despite {issue} in {region}, {clause}, as {person} (said|recalled) yesterday.",
     "malgré {issue} {en region}, {clause}, comme l'a (dit|rappelé) hier {person}."),
    ("situation_country", 1, "Ladies and gentlemen, the situation in {country} is (serious|worrying|difficult): {clause}.",
     "Mesdames et Messieurs, la situation {en country} est (grave|préoccupante|difficile) : {clause}."),
    ("between_years", 1, "Between {year} and {year2}, {econ} in {country} (rose|fell) by {pct}, (according to|as shown by) {doc}.",
     "entre {year} et {year2}, {econ} {en country} {econ:a|ont} (augmenté|baissé) de {pct}, (selon|comme le montre) {doc}."),
    ("budget_amount", 1, "The budget for {domain} will amount to {money} in {year}, (as the Council proposed|as the Commission proposed).",
     "le budget consacré {à domain} s'élèvera à {money} en {year}, (comme l'a proposé le Conseil|comme l'a proposé la Commission)."),
    ("money_allocated", 1, "{money} will be allocated to {infra} in {region} in {year}, (as the Commission proposed|as the Council decided).",
     "{money} seront alloués {à infra} {en region} en {year}, (comme l'a proposé la Commission|comme l'a décidé le Conseil)."),
    ("appropriations", 1, "The appropriations for {domain} have been (increased|reduced) by {pct} compared with {year}, since {clause}.",
     "les crédits destinés {à domain} ont été (augmentés|réduits) de {pct} par rapport à {year}, car {clause}."),
    ("youth_unemployment", 1, "In {region}, {pct} of young people are unemployed and {clause}.",
     "{en region}, {pct} des jeunes sont au chômage et {clause}."),
    ("situation_people", 1, "The situation of {people} in {region} is (difficult|worrying|unacceptable), and {clause}.",
     "la situation {de people} {en region} est (difficile|préoccupante|inacceptable), et {clause}."),
    ("report_stresses", 1, "The report by {person} rightly stresses that {clause}.",
     "le rapport {de person} souligne à juste titre que {clause}."),
    ("motion_calls", 1, "The motion for a resolution calls on the Commission to present {doc} (before the end of the year|as soon as possible).",
     "la proposition de résolution invite la Commission à présenter {doc} (avant la fin de l'année|dans les plus brefs délais)."),
    ("motions_received", 0.5, "I have received {n} motions for resolutions submitted pursuant to Rule {digit} of the Rules of Procedure on {issue}.",
     "j'ai reçu {n} propositions de résolution déposées conformément à l'article {digit} du règlement sur {issue}."),
    ("minutes", 0.2, "The Minutes of the sitting of {day} have been distributed. (Are there any comments?|Are there any objections?)",
     "le procès-verbal de la séance de {day} a été distribué. (Y a-t-il des observations ?|Y a-t-il des objections ?)"),
    ("sitting_suspended", 0.2, "The sitting was suspended at {clock} and resumed at {clock2} for the vote on {doc}.",
     "la séance, suspendue à {clock}, est reprise à {clock2} pour le vote sur {doc}."),
    ("session_resumed", 0.2, "I declare resumed the session of the European Parliament adjourned on {date} {year}.",
     "je déclare reprise la session du Parlement européen qui avait été interrompue le {date} {year}."),
    ("parliament_adopted", 0.7, "Parliament adopted {doc} (by a large majority|unanimously) after a long debate on {domain}.",
     "le Parlement a adopté {doc} (à une large majorité|à l'unanimité) à l'issue d'un long débat sur {domain}."),
    ("vote_result", 1, "{doc} {doc:was|were} adopted by {votes} votes to {fewvotes}, with {n} abstentions.",
     "{doc} {doc:a|ont} été {doc:adopté} par {votes} voix contre {fewvotes} et {n} abstentions."),
    ("calling_for", 1, "We are calling for {measure} and {measure2} in {region}, since {clause}.",
     "nous demandons {measure} et {measure2} {en region}, car {clause}."),
    ("step_towards", 1, "This is a (decisive|important) step towards {abstract}, (and we welcome it|even if much remains to be done).",
     "il s'agit d'un pas (décisif|important) vers {abstract}, (et nous nous en félicitons|même s'il reste beaucoup à faire)."),
    ("demonstration", 1, "More than {big} {bare_people} took part in the demonstration in {city} against {measure}.",
     "plus de {big} {bare_people} ont participé à la manifestation de {city} contre {measure}."),
    ("committee_amendments", 1, "On {date}, the Committee on {domain} adopted {n} amendments to {doc}, and {clause}.",
     "le {date}, la commission {de domain} a adopté {n} amendements {à doc}, et {clause}."),
    ("ask_commissioner", 1, "I should like to ask the Commissioner whether {clause}.",
     "je voudrais demander au commissaire si {clause}."),
    ("commissioner_replied", 1, "The Commissioner replied that {clause}.",
     "le commissaire a répondu que {clause}."),
    ("but", 1.5, "{clause}, but {clause2}.",
     "{clause}, mais {clause2}."),
    ("which_is_why", 1, "{clause}, (which is why|and that is why) we support {doc}.",
     "{clause}, (c'est pourquoi|et c'est pourquoi) nous soutenons {doc}."),
    ("there_are_people", 1, "There are {big} {bare_people} in {country} who (live in poverty|have no job|need help).",
     "il y a {big} {bare_people} {en country} qui (vivent dans la pauvreté|n'ont pas d'emploi|ont besoin d'aide)."),
    ("people_deserve", 1, "{people} in {region} (deserve {measure}|expect {measure}|need {measure}), because {clause}.",
     "{people} {en region} (méritent {measure}|attendent {measure}|ont besoin {de measure}), parce que {clause}."),
    ("pleased_to_note", 1, "I am pleased to note that {clause}.",
     "je constate avec satisfaction que {clause}."),
    ("inform_house", 1, "{person} has asked me to inform the House#assembly that {clause}.",
     "{person} m'a demandé d'informer l'Assemblée que {clause}."),
    ("without", 1, "Without {measure}, {clause}, and {people} will (suffer|pay the price).",
     "sans {measure}, {clause}, et {people} en (souffriront|paieront le prix)."),
    ("explain_why", 1, "Could the Commission explain why {clause}?",
     "la Commission pourrait-elle expliquer pourquoi {clause} ?"),
    ("aware", 1, "(Is the Commission aware|Is the Council aware) that {clause}?",
     "(la Commission est-elle consciente|le Conseil est-il conscient) que {clause} ?"),
    ("position_on", 1, "What is the (Commission's|Council's) position on {doc}, given that {clause}?",
     "quelle est la position (de la Commission|du Conseil) sur {doc}, étant donné que {clause} ?"),
    ("agree_with", 1, "Mr President, I agree with {person}: {clause}.",
     "Monsieur le Président, je suis d'accord avec {person} : {clause}."),
    ("always_said", 1, "(The Commission has always said|The Council has repeatedly stated) that {clause}.",
     "(la Commission a toujours dit|le Conseil a déclaré à plusieurs reprises) que {clause}."),
    ("word_about", 1, "Finally, I would like to say a word about {domain}: {clause}.",
     "enfin, je voudrais dire un mot sur {domain} : {clause}."),
    ("adverb_clause", 1.5, "(Unfortunately|Fortunately|Obviously|Indeed|Moreover|Nevertheless), {clause}, and {clause2}.",
     "(malheureusement|heureusement|évidemment|en effet|en outre|néanmoins), {clause}, et {clause2}."),
    ("summit", 1, "At the summit in {city}, the heads of state#polity and government (agreed on|called for) {measure}.",
     "lors du sommet de {city}, les chefs d'État et de gouvernement (se sont mis d'accord sur|ont demandé) {measure}."),
    ("comparison", 1, "{econ} in {country} {econ:is|are} (higher|lower) than in {country2}, and {clause}.",
     "{econ} {en country} {econ:est|sont} plus {econ:(élevé|bas)} que {en country2}, et {clause}."),
    ("since_year", 1, "Since {year}, {econ} in {region} {econ:has|have} (risen|fallen) by {pct}, as the figures of {inst} show, and {clause}.",
     "depuis {year}, {econ} {en region} {econ:a|ont} (augmenté|baissé) de {pct}, comme le montrent les chiffres {de inst}, et {clause}."),
    ("we_know", 1, "We all know that {clause}, (yet|but) {clause2}.",
     "nous savons tous que {clause}, (pourtant|mais) {clause2}."),
    ("honourable_member", 1, "The honourable Member is (quite correct|correct): {clause}.",
     "l'honorable député a (tout à fait raison|raison) : {clause}."),
    ("on_page", 0.7, "As stated in paragraph {digit} of {doc}, {clause}.",
     "comme l'indique le paragraphe {digit} {de doc}, {clause}."),
]

# A comparison adjective agreeing with a filler is written {x:(a|b)} above: expand it here into
# two templates so the template syntax stays simple.
_expanded = []
for _name, _weight, _en, _fr in TEMPLATES:
    if "{econ:(élevé|bas)}" in _fr:
        _en_high, _en_low = _en.replace("(higher|lower)", "higher"), _en.replace("(higher|lower)", "lower")
        _expanded.append((_name, _weight / 2, _en_high, _fr.replace("{econ:(élevé|bas)}", "{econ:élevé}")))
        _expanded.append((_name, _weight / 2, _en_low, _fr.replace("{econ:(élevé|bas)}", "{econ:bas}")))
    else:
        _expanded.append((_name, _weight, _en, _fr))
TEMPLATES = _expanded


def template_structure(template: Template) -> Callable[[Gen], TokenPair]:
    def build(gen):
        return template.render(gen)
    return build


# ---------------------------------------------------------------------------------------------
# Structures built with the clause machinery

WH_WORDS = {"why": ("why", "pourquoi"), "when": ("when", "quand"), "how": ("how", "comment")}
OPENINGS = [("Commissioner,", "Monsieur le Commissaire,"), ("Madam Commissioner,", "Madame la Commissaire,"),
            ("Mr President,", "Monsieur le Président,"), ("", "")]


def _question_subject(gen):
    return gen.np(gen.choice(("inst", "inst", "gov", "place")), complement_p=0.0)


def _verb_for(gen, subject_classes, passivable=False, transitive=True):
    while True:
        verb = gen.choice(VERBS)
        if transitive and not verb.transitive:
            continue
        if passivable and not verb.passivable:
            continue
        if set(verb.subject_classes) & set(subject_classes):
            return verb


def _object(gen, verb):
    return gen.np(gen.choice(verb.object_classes), complement_p=0.3) if verb.transitive else None


def _opening(gen, en, fr):
    opening_en, opening_fr = gen.choice(OPENINGS)
    return words(opening_en) + en, words(opening_fr) + fr


OPENERS = [Template(en, fr) for en, fr in (
    ("In my opinion,", "à mon avis,"), ("Mr President,", "Monsieur le Président,"),
    ("Ladies and gentlemen,", "Mesdames et Messieurs,"), ("As the rapporteur said,", "comme l'a dit le rapporteur,"),
    ("Once again,", "une fois de plus,"), ("First of all,", "tout d'abord,"), ("In this context,", "dans ce contexte,"),
    ("As you know,", "comme vous le savez,"), ("In the light of {doc},", "à la lumière {de doc},"),
    ("As far as {domain} is concerned,", "en ce qui concerne {domain},"),
    ("According to {person},", "selon {person},"), ("In {region},", "{en region},"),
    ("(Unfortunately|Fortunately|Obviously|However|Moreover|Nevertheless|Indeed|Above all|Clearly|Certainly),",
     "(malheureusement|heureusement|évidemment|cependant|en outre|néanmoins|en effet|surtout|clairement|certainement),"),
    ("(Generally|Probably|Sometimes|Often),", "(généralement|probablement|parfois|souvent),"),
    ("Together,", "ensemble,"))]
QUESTION_OPENERS = [Template(en, fr) for en, fr in (
    ("Given the situation in {country},", "compte tenu de la situation {en country},"),
    ("In view of {issue} in {region},", "face {à issue} {en region},"),
    ("Following the debate on {domain},", "à la suite du débat sur {domain},"),
    ("Mr President, I would like to ask the Commission a question:", "Monsieur le Président, je voudrais poser une question à la Commission :"),
    ("In the light of {doc},", "à la lumière {de doc},"))]
CLOSERS = [Template(en, fr) for en, fr in (
    (", because {clause}", ", parce que {clause}"), (", since {clause}", ", car {clause}"),
    (", and {clause}", ", et {clause}"), (", even though {clause}", ", même si {clause}"))]


def _statement(gen, en, fr, opener_p=0.5, closer_p=0.35):
    """A declarative clause made a sentence, with an optional opener and a following clause."""
    if gen.chance(opener_p):
        head_en, head_fr = gen.choice(OPENERS).render(gen)
        en, fr = head_en + en, head_fr + fr
    if gen.chance(closer_p):
        tail_en, tail_fr = gen.choice(CLOSERS).render(gen)
        en, fr = en + tail_en, fr + tail_fr
    return en + [(".", None)], fr + [(".", None)]


def _question(gen, en, fr):
    if gen.chance(0.4):
        head_en, head_fr = gen.choice(QUESTION_OPENERS).render(gen)
        return head_en + en + [("?", None)], head_fr + fr + [("?", None)]
    return _opening(gen, en + [("?", None)], fr + [("?", None)])


def yes_no_question(gen: Gen) -> TokenPair:
    """Does the Commission support ...? / La Commission soutient-elle ... ?"""
    subject = gen.np("inst", complement_p=0.0)
    verb = _verb_for(gen, ("inst",), transitive=gen.chance(0.85))
    tense = gen.choice(("present", "perfect", "future", "future"))
    clause = gen.clause(subject, verb, _object(gen, verb), tense, negative=gen.chance(0.15), question=True,
                        extra=gen.time_adverbial(tense) if gen.chance(0.5) else None)
    return _question(gen, clause.en, clause.fr)


def wh_question(gen: Gen) -> TokenPair:
    """Why has the Council not adopted ...? / Pourquoi le Conseil n'a-t-il pas adopté ... ?"""
    wh = gen.choice(("why", "why", "when", "how"))
    tense = "future" if wh in ("when", "how") else gen.choice(("present", "perfect", "future"))
    subject = _question_subject(gen)
    cls = "place" if not hasattr(subject, "noun") else subject.noun.classes[0]
    verb = _verb_for(gen, (cls,) if cls != "place" else ("place", "gov"))
    negative = wh == "why" and gen.chance(0.5)
    clause = gen.clause(subject, verb, _object(gen, verb), tense, negative=negative, question=True, wh=WH_WORDS[wh],
                        extra=gen.time_adverbial(tense) if gen.chance(0.4) else None)
    return _question(gen, clause.en, clause.fr)


def est_ce_que_question(gen: Gen) -> TokenPair:
    """Will the Member States ...? / Est-ce que les États membres ... ?"""
    subject = gen.np("place", complement_p=0.0)
    verb = _verb_for(gen, ("place",))
    tense = gen.choice(("present", "perfect", "future"))
    obj = _object(gen, verb)
    clause_q = gen.clause(subject, verb, obj, tense, question=True)
    clause_d = gen.clause(subject, verb, obj, tense)
    return _question(gen, clause_q.en, words("est-ce que") + clause_d.fr)


def which_question(gen: Gen) -> TokenPair:
    """Which measures has the Commission adopted ...? / Quelles mesures la Commission a-t-elle
    adoptées ... ? (the past participle agrees with the object placed before the verb)."""
    verb = _verb_for(gen, ("inst",), passivable=True)
    obj = gen.np(gen.choice(verb.object_classes), det="which", adjective_p=0.0, complement_p=0.0)
    subject = gen.np("inst", complement_p=0.0)
    tense = gen.choice(("perfect", "future"))
    purpose = gen.np("issue", complement_p=0.0)
    pronoun = french.inflect(("il", "elle", "ils", "elles"), subject.gender, subject.number)
    third = subject.en_number == "sg"
    en = obj.render("en")
    fr = obj.render("fr") + subject.render("fr")
    if tense == "perfect":
        en += [("has" if third else "have", None)] + subject.render("en") + [(verb.en_pp, None)]
        participle = verb.fr.agreed_participle(obj.gender, obj.number)
        if gen.record is not None:
            gen.record.append(("participle", obj.gender, obj.number, verb.fr.participle, participle))
        fr += [(french.AVOIR_FORMS[subject.number] + "-t-" + pronoun, None), (participle, None)]
    else:
        en += [("will", None)] + subject.render("en") + [(verb.en, None)]
        conj = verb.fr.form("future", "3sg" if subject.number == "sg" else "3pl")
        fr += [(conj + ("-t-" if conj[-1] in "ae" else "-") + pronoun, None)]
    en += words(verb.en_tail) + words("to combat") + purpose.render("en")
    fr += words(verb.fr_tail) + words("pour lutter contre") + purpose.render("fr")
    return _question(gen, en, fr)


def relative_clause(gen: Gen) -> TokenPair:
    """The proposals that the Commission presented last month are ... / Les propositions que la
    Commission a présentées le mois dernier sont ... (agreement with the preceding object)."""
    verb = _verb_for(gen, ("inst", "gov"), passivable=True)
    obj_cls = gen.choice(verb.object_classes)
    obj = gen.np(obj_cls, det="def", adjective_p=0.3, complement_p=0.0)
    obj.det = "def"  # "the tolerance that ...": the relative clause makes it definite
    subject = gen.np(gen.choice([c for c in verb.subject_classes if c in ("inst", "gov")] or ["inst"]), complement_p=0.0)
    when = gen.time_adverbial("past")
    if obj_cls in ("doc", "measure"):
        adjective = gen.choice(("insufficient", "ambitious", "realistic", "credible", "balanced", "necessary",
                                "urgent", "essential", "coherent", "modest", "excessive"))
    else:
        adjective = gen.choice(("modern", "expensive", "obsolete", "safe", "necessary", "important", "essential"))
    adj = next(a for a in ADJECTIVES if a.en == adjective)
    participle = verb.fr.agreed_participle(obj.gender, obj.number)
    adj_form = french.inflect(adj.fr_forms, obj.gender, obj.number)
    if gen.record is not None:
        gen.record.append(("participle", obj.gender, obj.number, verb.fr.participle, participle))
        gen.record.append(("agree", obj.gender, obj.number, adj.fr_forms[0], adj_form))
    negative = gen.chance(0.3)
    en_be = ("is" if obj.en_number == "sg" else "are") + (" not" if negative else "")
    fr_be = ("est" if obj.number == "sg" else "sont")
    en = obj.render("en") + [("that", None)] + subject.render("en") + [(verb.en_past, None)] + words(verb.en_tail) \
        + when.en + words(en_be) + [(adj.en, None)]
    fr_aux = "a" if subject.number == "sg" else "ont"
    fr = obj.render("fr") + [("que", None)] + subject.render("fr") + [(fr_aux, None), (participle, None)] \
        + words(verb.fr_tail) + when.fr + (words("ne") if negative else []) + [(fr_be, None)] \
        + (words("pas") if negative else []) + [(adj_form, None)]
    return _statement(gen, en, fr)


def infinitive(verb: Verb, obj: Filler | None, reflexive: str = "se") -> TokenPair:
    """(English, French) tokens of 'adopt the report' / 'adopter le rapport'."""
    en = [(verb.en, None)] + words(verb.en_tail)
    fr = ([(reflexive, None)] if verb.fr.pronominal else []) + [(verb.fr.infinitive, None)] + words(verb.fr_tail)
    if obj is not None:
        en += obj.render("en", verb.en_prep)
        fr += obj.render("fr", verb.fr_prep)
    return en, fr


INFINITIVE_FRAMES = [  # (English before the infinitive, French before it)
    ("The Commission intends to", "la Commission compte"),
    ("The Commission has proposed to", "la Commission a proposé de"),
    ("The Council has decided to", "le Conseil a décidé de"),
    ("The aim of this directive is to", "l'objectif de cette directive est de"),
    ("The aim of the programme is to", "le programme a pour objectif de"),
    ("The Commission's proposal would make it possible to", "la proposition de la Commission permettrait de"),
    ("It is essential to", "il est essentiel de"),
    ("It is high time to", "il est grand temps#time de"),
    ("We call on the Member States#polity to", "nous invitons les États membres à"),
    ("The rapporteur rightly proposes to", "le rapporteur propose à juste titre de"),
    ("The Member States#polity have undertaken to", "les États membres se sont engagés à"),
    ("We must find the means to", "nous devons trouver les moyens de"),
]
INFINITIVE_TEMPLATES = [Template(en, fr) for en, fr in INFINITIVE_FRAMES]


def infinitive_purpose(gen: Gen) -> TokenPair:
    """The Commission intends to phase out ... by 2005. / La Commission compte supprimer ..."""
    frame = gen.choice(INFINITIVE_TEMPLATES)
    head_en, head_fr = frame.render(gen)
    verb = _verb_for(gen, ("inst", "gov", "place"))
    en, fr = infinitive(verb, _object(gen, verb))
    extra = gen.time_adverbial("future") if gen.chance(0.5) else None
    if extra is not None:
        en, fr = en + extra.en, fr + extra.fr
    return _statement(gen, head_en + en, head_fr + fr, opener_p=0.3)


def modal_passive_deadline(gen: Gen) -> TokenPair:
    """The directive must be transposed before 1 January. / La directive doit être transposée
    avant le 1er janvier."""
    verb = _verb_for(gen, ("inst", "gov", "place"), passivable=True)
    subject = gen.np(gen.choice(verb.object_classes), complement_p=0.3)
    date = gen.slot_date()
    extra = Lit([("before", None)] + date.en, [("avant", None), ("le", None)] + date.fr)
    clause = gen.clause(subject, verb, None, "modal", passive=True, modal=gen.choice(("must", "should")),
                        negative=False, extra=extra)
    return _statement(gen, clause.en, clause.fr)


def not_yet(gen: Gen) -> TokenPair:
    """The Council adopted X last year, but the Member States have not yet ... / ... n'ont pas encore ..."""
    first = gen.generic_clause(tense="past", negative=False, when_p=1.0)
    subject = gen.np("place", complement_p=0.0)
    verb = _verb_for(gen, ("place",))
    second = gen.clause(subject, verb, _object(gen, verb), "perfect", negative="not yet")
    return _statement(gen, first.en + [(",", None), ("but", None)] + second.en,
                      first.fr + [(",", None), ("mais", None)] + second.fr, closer_p=0.0)


def coordinated_subjects(gen: Gen) -> TokenPair:
    """The Commission and the Council have adopted ... / La Commission et le Conseil ont adopté ..."""
    a, b = gen.np("inst", complement_p=0.0), gen.np("inst", complement_p=0.0)
    while b.noun is a.noun:
        b = gen.np("inst", complement_p=0.0)
    gender = "f" if a.gender == b.gender == "f" else "m"
    subject = Lit(a.render("en") + [("and", None)] + b.render("en"), a.render("fr") + [("et", None)] + b.render("fr"),
                  gender, "pl")
    verb = _verb_for(gen, ("inst",))
    tense = gen.choice(("present", "perfect", "future", "modal"))
    clause = gen.clause(subject, verb, _object(gen, verb), tense, negative=gen.chance(0.2),
                        modal=gen.choice(("must", "should")) if tense == "modal" else None,
                        adverb=gen.choice((("also", "également"), ("already", "déjà"), ("finally", "enfin")))
                        if tense == "perfect" and gen.chance(0.5) else None)
    return _statement(gen, clause.en, clause.fr)


def neither_nor(gen: Gen) -> TokenPair:
    """Neither the Council nor the Commission has ... / Ni le Conseil ni la Commission n'ont ..."""
    a, b = gen.np("inst", complement_p=0.0), gen.np("inst", complement_p=0.0)
    while b.noun is a.noun:
        b = gen.np("inst", complement_p=0.0)
    verb = _verb_for(gen, ("inst",), passivable=True)
    obj = _object(gen, verb)
    en = [("neither", None)] + a.render("en") + [("nor", None)] + b.render("en") + [("has", None), (verb.en_pp, None)] \
        + words(verb.en_tail) + obj.render("en") + [(".", None)]
    fr = [("ni", None)] + a.render("fr") + [("ni", None)] + b.render("fr") + [("ne", None), ("ont", None),
                                                                             (verb.fr.participle, None)] \
        + words(verb.fr_tail) + obj.render("fr")
    return _statement(gen, en[:-1], fr)


def imperative(gen: Gen) -> TokenPair:
    """Let us protect our forests! / Protégeons nos forêts !"""
    verb = _verb_for(gen, ("inst", "gov", "people", "org", "place"))
    while verb.fr.pronominal:
        verb = _verb_for(gen, ("inst", "gov", "people", "org", "place"))
    obj = gen.np(gen.choice(verb.object_classes), det=gen.choice(("poss", "def", "def")), complement_p=0.2)
    if obj.det == "poss":
        obj.owner = ("our", "1pl")
    en = words("let us") + [(verb.en, None)] + words(verb.en_tail) + obj.render("en", verb.en_prep)
    fr = [(verb.fr.form("present", "1pl"), None)] + words(verb.fr_tail) + obj.render("fr", verb.fr_prep)
    if gen.chance(0.5):
        en, fr = en + [(",", None)] + words("ladies and gentlemen"), fr + [(",", None)] + words("Mesdames et Messieurs")
    if gen.chance(0.5):
        en, fr = en + words("before it is too late"), fr + words("avant qu'il ne soit trop tard")
    return en + [("!", None)], fr + [("!", None)]


def conditional(gen: Gen) -> TokenPair:
    """If the Member States ..., the Commission will ... / Si les États membres ..., la Commission ..."""
    first = gen.generic_clause(tense="present", when_p=0.0)
    second = gen.generic_clause(tense="future", when_p=0.3)
    return _statement(gen, [("if", None)] + first.en + [(",", None)] + second.en,
                      [("si", None)] + first.fr + [(",", None)] + second.fr, closer_p=0.0)


def how_many(gen: Gen) -> TokenPair:
    """How many hospitals have been built in Sicily since 2000? / Combien d'hôpitaux ont été
    construits en Sicile depuis 2000 ?"""
    cls = gen.choice(("infra", "infra", "doc", "measure"))
    verb = _verb_for(gen, ("inst", "gov", "org", "place"), passivable=True)
    while cls not in verb.object_classes:
        verb = _verb_for(gen, ("inst", "gov", "org", "place"), passivable=True)
    subject = gen.np(cls, det="bare", number="pl", adjective_p=0.2, complement_p=0.0)
    while subject.noun.en_number != "c" or subject.noun.fr_number != "c":
        subject = gen.np(cls, det="bare", number="pl", adjective_p=0.2, complement_p=0.0)
    participle = verb.fr.agreed_participle(subject.gender, "pl")
    if gen.record is not None:
        gen.record.append(("participle", subject.gender, "pl", verb.fr.participle, participle))
    place = gen.slot_region() if gen.chance(0.5) else gen.slot_country()
    year = gen.slot_year()
    en = words("how many") + subject.render("en") + words("have been") + [(verb.en_pp, None)] + words(verb.en_tail) \
        + place.render("en", "in") + [("since", None)] + year.en
    fr = [("combien", None)] + subject.render("fr", "de") + words("ont été") + [(participle, None)] + words(verb.fr_tail) \
        + place.render("fr", "en") + [("depuis", None)] + year.fr
    return _question(gen, en, fr)


def generic_statement(gen: Gen) -> TokenPair:
    """A clause of the lexicon's verb frames, with an adverbial (the most varied structure)."""
    clause = gen.generic_clause(when_p=0.6)
    return _statement(gen, clause.en, clause.fr, opener_p=0.6, closer_p=0.4)


def we_must(gen: Gen) -> TokenPair:
    """We must/should ... / Nous devons/devrions ..."""
    verb = _verb_for(gen, ("inst", "gov", "people", "place"))
    clause = gen.clause(Pronoun("1pl"), verb, _object(gen, verb), "modal", modal=gen.choice(("must", "should", "can")),
                        negative=gen.chance(0.2), extra=gen.time_adverbial("future") if gen.chance(0.4) else None)
    return _statement(gen, clause.en, clause.fr, opener_p=0.6, closer_p=0.5)


FUNCTIONS = [
    ("yes_no_question", 2, yes_no_question),
    ("wh_question", 2, wh_question),
    ("est_ce_que_question", 1, est_ce_que_question),
    ("which_question", 1, which_question),
    ("relative_clause", 1.5, relative_clause),
    ("infinitive_purpose", 1.5, infinitive_purpose),
    ("modal_passive_deadline", 1, modal_passive_deadline),
    ("not_yet", 1, not_yet),
    ("coordinated_subjects", 1, coordinated_subjects),
    ("neither_nor", 0.5, neither_nor),
    ("imperative", 0.7, imperative),
    ("conditional", 1, conditional),
    ("how_many", 1, how_many),
    ("generic_statement", 3, generic_statement),
    ("we_must", 1, we_must),
]

STRUCTURES = [(name, weight, template_structure(Template(en, fr))) for name, weight, en, fr in TEMPLATES] \
    + FUNCTIONS
STRUCTURE_NAMES = sorted({name for name, _, _ in STRUCTURES})
