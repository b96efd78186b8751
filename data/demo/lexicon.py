"""The bilingual lexicon of the demo corpus: nouns, adjectives, verbs, adverbs and names, each an
English lemma with its French translation (and the French gender for nouns).

Entries are written one per line, fields separated by ';'. A word carrying '#name' is an occurrence
of a polysemous word in the sense `word/name` (see senses.py): 'Member State#polity' is tagged
state/polity, 'droit#right de l'homme' is tagged droit/right. Every polysemous surface form must
carry its sense: lexicon loading fails otherwise, so the gold annotation cannot miss one.

Noun lines:      english[/plural] ; french[/plural] ; gender [flags] ; classes
  flags: u (mass noun, singular only), p (plural only), en:u, en:p, fr:u, fr:p (one language only),
         en:bare (no English article even when definite: "Parliament", "agriculture"),
         en:the (a mass noun that keeps "the" when generic: "the environment").
Adjective lines: english ; french masculine[/feminine/masc. plural/fem. plural] ; [pre] ; classes
  pre: placed before the noun in French ("une nouvelle directive").
Verb lines:      english ; french ; frame
  english: 'base[/past/participle] [tail]' where the tail follows the verb ("carry out").
  french:  'infinitive [tail]', 'se infinitive' (pronominal), '*infinitive' (auxiliary être).
  frame:   'subject classes > object classes' with optional prepositions: 'people > +de issue'
           means a French object introduced by de, 'inst > ~to people' an English one by "to".
"""

from __future__ import annotations

from . import english, french

# Polysemous words: surface form -> lemma, per language (their senses are in senses.py).
POLYSEMOUS_FORMS = {
    "en": {"bank": "bank banks", "bill": "bill bills", "chair": "chair chairs", "fair": "fair fairs",
           "floor": "floor floors", "house": "house houses", "order": "order orders",
           "party": "party parties", "plant": "plant plants", "power": "power powers",
           "right": "right rights", "sentence": "sentence sentences", "spring": "spring springs",
           "state": "state states", "table": "table tables"},
    "fr": {"avocat": "avocat avocats", "bureau": "bureau bureaux", "carte": "carte cartes",
           "droit": "droit droits", "feu": "feu feux", "glace": "glace glaces", "livre": "livre livres",
           "pêche": "pêche pêches", "pièce": "pièce pièces", "temps": "temps", "tour": "tour tours",
           "vol": "vol vols"},
}
POLYSEMOUS = {lang: {form: lemma for lemma, forms in table.items() for form in forms.split()}
              for lang, table in POLYSEMOUS_FORMS.items()}

NOUNS = """
# --- institutions and bodies (used as agents) ---
Commission ; Commission ; f ; inst
Council ; Conseil ; m ; inst
Parliament ; Parlement ; m en:bare ; inst
Court of Justice ; Cour de justice ; f ; inst
Court of Auditors ; Cour des comptes ; f ; inst
European Central Bank#finance ; Banque centrale européenne ; f ; inst
European Investment Bank#finance ; Banque européenne d'investissement ; f ; inst
Ombudsman ; Médiateur ; m ; inst
Economic and Social Committee ; Comité économique et social ; m ; inst
Committee of the Regions ; Comité des régions ; m ; inst
Conference of Presidents ; Conférence des présidents ; f ; inst
European Environment Agency ; Agence européenne pour l'environnement ; f ; inst
Presidency ; présidence ; f ; inst
government ; gouvernement ; m ; gov
national parliament ; parlement national ; m ; gov
ministry ; ministère ; m ; gov
administration ; administration ; f ; gov
authority/authorities ; autorité ; f ; gov org
committee ; commission ; f ; org
delegation ; délégation ; f ; org
agency/agencies ; agence ; f ; org
trade union ; syndicat ; m ; org
company/companies ; entreprise ; f ; org
firm ; firme ; f ; org
association ; association ; f ; org
non-governmental organisation ; organisation non gouvernementale/organisations non gouvernementales ; f ; org
organisation ; organisation ; f ; org
institution ; institution ; f ; org
cooperative ; coopérative ; f ; org
municipality/municipalities ; municipalité ; f ; org
local authority/local authorities ; collectivité locale ; f ; org
police force ; force de police ; f ; org
army/armies ; armée ; f ; org
political party#political/political parties#political ; parti politique ; m ; org
political group ; groupe politique ; m ; org
airline ; compagnie aérienne ; f ; org
insurance company/insurance companies ; compagnie d'assurance ; f ; org
# --- people: roles and groups ---
minister ; ministre ; m ; role
rapporteur ; rapporteur ; m ; role
Commissioner ; commissaire ; m ; role
Member ; député ; m ; role
mayor ; maire ; m ; role
ambassador ; ambassadeur ; m ; role
judge ; juge ; m ; role people
inspector ; inspecteur ; m ; role people
official ; fonctionnaire ; m ; role people
expert ; expert ; m ; role people
leader ; dirigeant ; m ; role people
director ; directeur ; m ; role
spokesman/spokesmen ; porte-parole/porte-parole ; m ; role
prime minister ; Premier ministre ; m ; role
head of state#polity/heads of state#polity ; chef d'État ; m ; role people
citizen ; citoyen ; m ; people
worker ; travailleur ; m ; people
farmer ; agriculteur ; m ; people
fisherman/fishermen ; pêcheur ; m ; people
consumer ; consommateur ; m ; people
producer ; producteur ; m ; people
employer ; employeur ; m ; people
employee ; salarié ; m ; people
student ; étudiant ; m ; people
teacher ; enseignant ; m ; people
doctor ; médecin ; m ; people
nurse ; infirmier ; m ; people
patient ; patient ; m ; people
pensioner ; retraité ; m ; people
child/children ; enfant ; m ; people
woman/women ; femme ; f ; people
young people ; jeunes ; m p ; people
family/families ; famille ; f ; people
refugee ; réfugié ; m ; people
migrant ; migrant ; m ; people
victim ; victime ; f ; people
inhabitant ; habitant ; m ; people
voter ; électeur ; m ; people
taxpayer ; contribuable ; m ; people
volunteer ; bénévole ; m ; people
researcher ; chercheur ; m ; people
scientist ; scientifique ; m ; people
journalist ; journaliste ; m ; people
entrepreneur ; entrepreneur ; m ; people
shopkeeper ; commerçant ; m ; people
driver ; conducteur ; m ; people
passenger ; passager ; m ; people
traveller ; voyageur ; m ; people
tourist ; touriste ; m ; people
engineer ; ingénieur ; m ; people
police officer ; policier ; m ; people
soldier ; soldat ; m ; people
unemployed person/unemployed people ; chômeur ; m ; people
pupil ; élève ; m ; people
parent ; parent ; m ; people
elderly people ; personnes âgées ; f p ; people
disabled people ; personnes handicapées ; f p ; people
miner ; mineur ; m ; people
craftsman/craftsmen ; artisan ; m ; people
livestock farmer ; éleveur ; m ; people
winegrower ; viticulteur ; m ; people
railway worker ; cheminot ; m ; people
lorry driver ; chauffeur routier ; m ; people
owner ; propriétaire ; m ; people
tenant ; locataire ; m ; people
supplier ; fournisseur ; m ; people
customer ; client ; m ; people
manufacturer ; fabricant ; m ; people
investor ; investisseur ; m ; people
shareholder ; actionnaire ; m ; people
saver ; épargnant ; m ; people
borrower ; emprunteur ; m ; people
seasonal worker ; travailleur saisonnier ; m ; people
trainee ; stagiaire ; m ; people
asylum seeker ; demandeur d'asile ; m ; people
minority/minorities ; minorité ; f ; people
# --- documents and legal texts ---
report ; rapport ; m ; doc
proposal ; proposition ; f ; doc
directive ; directive ; f ; doc
regulation ; règlement ; m ; doc
amendment ; amendement ; m ; doc
resolution ; résolution ; f ; doc
motion for a resolution/motions for resolutions ; proposition de résolution ; f ; doc
communication ; communication ; f ; doc
opinion ; avis ; m ; doc
recommendation ; recommandation ; f ; doc
decision ; décision ; f ; doc
agreement ; accord ; m ; doc
treaty/treaties ; traité ; m ; doc
convention ; convention ; f ; doc
programme ; programme ; m ; doc measure
strategy/strategies ; stratégie ; f ; doc measure
action plan ; plan d'action ; m ; doc measure
framework programme ; programme-cadre/programmes-cadres ; m ; doc measure
charter ; charte ; f ; doc
declaration ; déclaration ; f ; doc
study/studies ; étude ; f ; doc
survey ; enquête ; f ; doc
analysis/analyses ; analyse ; f ; doc
evaluation ; évaluation ; f ; doc
guideline ; ligne directrice ; f ; doc
code of conduct ; code de conduite ; m ; doc
protocol ; protocole ; m ; doc
initiative ; initiative ; f ; doc measure
legislative package ; paquet législatif ; m ; doc
annex ; annexe ; f ; doc
article ; article ; m ; doc
paragraph ; paragraphe ; m ; doc
chapter ; chapitre ; m ; doc
clause ; clause ; f ; doc
compromise ; compromis ; m ; doc
petition ; pétition ; f ; doc
question ; question ; f ; doc
answer ; réponse ; f ; doc
letter ; lettre ; f ; doc
request ; demande ; f ; doc
complaint ; plainte ; f ; doc
list ; liste ; f ; doc
timetable ; calendrier ; m ; doc
agenda ; ordre du jour ; m ; doc
budget ; budget ; m ; doc econ
draft budget ; projet de budget ; m ; doc
law ; loi ; f ; doc measure
legislation ; législation ; f u ; doc measure
text ; texte ; m ; doc
document ; document ; m ; doc
common position ; position commune ; f ; doc
statement ; déclaration ; f ; doc
summary/summaries ; résumé ; m ; doc
draft ; projet ; m ; doc
contract ; contrat ; m ; doc econ
# --- measures and policies ---
measure ; mesure ; f ; measure
policy/policies ; politique ; f ; measure
reform ; réforme ; f ; measure
rule ; règle ; f ; measure
standard ; norme ; f ; measure
tax ; taxe ; f ; measure econ
levy/levies ; prélèvement ; m ; measure
subsidy/subsidies ; subvention ; f ; measure econ
aid ; aide ; f u ; measure econ
loan ; prêt ; m ; measure econ
fund ; fonds ; m ; measure econ
quota ; quota ; m ; measure
ban ; interdiction ; f ; measure
restriction ; restriction ; f ; measure
limit ; limite ; f ; measure
ceiling ; plafond ; m ; measure
target ; objectif ; m ; measure
deadline ; délai ; m ; measure
procedure ; procédure ; f ; measure
mechanism ; mécanisme ; m ; measure
instrument ; instrument ; m ; measure
system ; système ; m ; measure
scheme ; régime ; m ; measure
network ; réseau ; m ; measure infra
project ; projet ; m ; measure
action ; action ; f ; measure
campaign ; campagne ; f ; measure event
plan ; plan ; m ; measure
control ; contrôle ; m ; measure
inspection ; inspection ; f ; measure
sanction ; sanction ; f ; measure
penalty/penalties ; pénalité ; f ; measure
labelling ; étiquetage ; m u ; measure
licence ; licence ; f ; measure
permit ; permis ; m ; measure
tariff ; tarif ; m ; measure econ
insurance ; assurance ; f u ; measure econ
pension scheme ; régime de retraite ; m ; measure
minimum wage ; salaire minimum ; m ; measure econ
harmonisation ; harmonisation ; f u ; measure
liberalisation ; libéralisation ; f u ; measure
privatisation ; privatisation ; f ; measure
simplification ; simplification ; f u ; measure
cooperation ; coopération ; f u ; measure abstract
partnership/partnerships ; partenariat ; m ; measure
dialogue ; dialogue ; m ; measure abstract
enlargement ; élargissement ; m u ; measure
integration ; intégration ; f u ; measure abstract
certification ; certification ; f u ; measure
vaccination ; vaccination ; f u ; measure
recycling ; recyclage ; m u ; measure
reorganisation ; réorganisation ; f ; measure
modernisation ; modernisation ; f u ; measure
derogation ; dérogation ; f ; measure
exemption ; exemption ; f ; measure
incentive ; incitation ; f ; measure
guarantee ; garantie ; f ; measure
safeguard ; sauvegarde ; f ; measure
# --- problems ---
unemployment ; chômage ; m u ; issue
poverty ; pauvreté ; f u ; issue
pollution ; pollution ; f u ; issue
inflation ; inflation ; f u ; issue econ
corruption ; corruption ; f u ; issue
crime ; criminalité ; f u ; issue
terrorism ; terrorisme ; m u ; issue
fraud ; fraude ; f u ; issue
discrimination ; discrimination ; f u ; issue
violence ; violence ; f u ; issue
racism ; racisme ; m u ; issue
debt ; dette ; f ; issue econ
deficit ; déficit ; m ; issue econ
crisis/crises ; crise ; f ; issue event
climate change ; changement climatique ; m u ; issue
drought ; sécheresse ; f ; issue event
erosion ; érosion ; f u ; issue
waste ; déchets ; m en:u fr:p ; issue
noise ; bruit ; m u ; issue
traffic ; circulation ; f u ; issue
shortage ; pénurie ; f ; issue
obesity ; obésité ; f u ; issue
illiteracy ; illettrisme ; m u ; issue
smuggling ; contrebande ; f u ; issue
trafficking in human beings ; traite des êtres humains ; f u ; issue
drug trafficking ; trafic de drogue ; m u ; issue
money laundering ; blanchiment d'argent ; m u ; issue
tax evasion ; fraude fiscale ; f u ; issue
deforestation ; déforestation ; f u ; issue
desertification ; désertification ; f u ; issue
overfishing ; surpêche ; f u ; issue
social exclusion ; exclusion sociale ; f u ; issue
inequality ; inégalités ; f en:u fr:p ; issue
insecurity ; insécurité ; f u ; issue
bureaucracy ; bureaucratie ; f u ; issue
protectionism ; protectionnisme ; m u ; issue
counterfeiting ; contrefaçon ; f u ; issue
cybercrime ; cybercriminalité ; f u ; issue
extremism ; extrémisme ; m u ; issue
xenophobia ; xénophobie ; f u ; issue
epidemic ; épidémie ; f ; issue event
disease ; maladie ; f ; issue
famine ; famine ; f ; issue event
flood ; inondation ; f ; issue event
storm ; tempête ; f ; issue event
earthquake ; tremblement de terre ; m ; issue event
fire ; incendie ; m ; issue event
emission ; émission ; f ; issue
greenhouse gas emissions ; émissions de gaz à effet de serre ; f p ; issue
air pollution ; pollution atmosphérique ; f u ; issue
road accident ; accident de la route ; m ; issue event
child labour ; travail des enfants ; m u ; issue
undeclared work ; travail non déclaré ; m u ; issue
# --- fields ---
agriculture ; agriculture ; f u en:bare ; domain
fisheries ; pêche#fishing ; f en:p fr:u en:bare ; fisheries
transport ; transports ; m en:u fr:p en:bare ; domain
industry ; industrie ; f u en:bare ; domain
trade ; commerce ; m u en:bare ; domain
energy ; énergie ; f u en:bare ; domain
health ; santé ; f u en:bare ; domain
public health ; santé publique ; f u en:bare ; domain
education ; éducation ; f u en:bare ; domain
research ; recherche ; f u en:bare ; domain
culture ; culture ; f u en:bare ; domain
tourism ; tourisme ; m u en:bare ; domain
environment ; environnement ; m u en:the ; domain
security ; sécurité ; f u en:bare ; domain abstract
defence ; défense ; f u en:bare ; domain
justice ; justice ; f u en:bare ; domain abstract
competition ; concurrence ; f u en:bare ; domain
employment ; emploi ; m u en:bare ; domain
housing ; logement ; m u en:bare ; domain
telecommunications ; télécommunications ; f p en:bare ; domain
innovation ; innovation ; f u en:bare ; domain
development ; développement ; m u en:bare ; domain
immigration ; immigration ; f u en:bare ; domain
taxation ; fiscalité ; f u en:bare ; domain
consumer protection ; protection des consommateurs ; f u en:bare ; domain
food safety ; sécurité alimentaire ; f u en:bare ; domain
regional policy ; politique régionale ; f u en:bare ; domain
internal market ; marché intérieur ; m u en:the ; domain
sport ; sport ; m u en:bare ; domain
youth ; jeunesse ; f u en:bare ; domain
media ; médias ; m p en:bare ; domain
space policy ; politique spatiale ; f u en:bare ; domain
biotechnology ; biotechnologie ; f u en:bare ; domain
postal services ; services postaux ; m p en:bare ; domain
human rights#entitlement ; droits#right de l'homme ; m p en:bare ; domain
women's rights#entitlement ; droits#right des femmes ; m p en:bare ; domain
civil liberties ; libertés civiles ; f p en:bare ; domain
foreign policy ; politique étrangère ; f u en:bare ; domain
maritime transport ; transport maritime ; m u en:bare ; domain
rural development ; développement rural ; m u en:bare ; domain
public procurement ; marchés publics ; m en:u fr:p en:bare ; domain
# --- economy ---
price ; prix ; m ; econ
cost ; coût ; m ; econ
rate ; taux ; m ; econ
interest rate ; taux d'intérêt ; m ; econ
exchange rate ; taux de change ; m ; econ
income ; revenu ; m ; econ
salary/salaries ; salaire ; m ; econ
pension ; pension ; f ; econ
investment ; investissement ; m ; econ
credit ; crédit ; m ; econ
market ; marché ; m ; econ
public contract ; marché public ; m ; econ
call for tenders/calls for tenders ; appel d'offres ; m ; econ
export ; exportation ; f ; econ
import ; importation ; f ; econ
product ; produit ; m ; econ goods
goods ; marchandises ; f p ; econ
service ; service ; m ; econ
sale ; vente ; f ; econ
profit ; bénéfice ; m ; econ
loss/losses ; perte ; f ; econ
share ; part ; f ; econ
currency/currencies ; monnaie ; f ; econ
single currency ; monnaie unique ; f ; econ
growth ; croissance ; f u ; econ
productivity ; productivité ; f u ; econ
competitiveness ; compétitivité ; f u ; econ
revenue ; recettes ; f en:u fr:p ; econ
expenditure ; dépenses ; f en:u fr:p ; econ
appropriations ; crédits ; m p ; econ
gross domestic product ; produit intérieur brut ; m u ; econ
public debt ; dette publique ; f u ; econ
savings ; épargne ; f en:p fr:u ; econ
turnover ; chiffre d'affaires ; m u ; econ
payment ; paiement ; m ; econ
funding ; financement ; m u ; econ
wage ; salaire ; m ; econ
economy/economies ; économie ; f ; econ
supply/supplies ; approvisionnement ; m ; econ
demand ; demande ; f u ; econ
stock exchange ; bourse ; f ; econ
# --- infrastructure and buildings ---
road ; route ; f ; infra
bridge ; pont ; m ; infra
railway line ; ligne ferroviaire ; f ; infra
motorway ; autoroute ; f ; infra
port ; port ; m ; infra
airport ; aéroport ; m ; infra
railway station ; gare ; f ; infra
hospital ; hôpital ; m ; infra
school ; école ; f ; infra
university/universities ; université ; f ; infra org
library/libraries ; bibliothèque ; f ; infra
museum ; musée ; m ; infra
prison ; prison ; f ; infra
court ; tribunal ; m ; infra org
factory/factories ; usine ; f ; infra
farm ; ferme ; f ; infra
building ; bâtiment ; m ; infra
tunnel ; tunnel ; m ; infra
dam ; barrage ; m ; infra
canal ; canal ; m ; infra place
reactor ; réacteur ; m ; infra
wind farm ; parc éolien ; m ; infra
gas pipeline ; gazoduc ; m ; infra
cycle path ; piste cyclable ; f ; infra
town hall ; mairie ; f ; infra
fire station ; caserne de pompiers ; f ; infra
lighthouse ; phare ; m ; infra
warehouse ; entrepôt ; m ; infra
laboratory/laboratories ; laboratoire ; m ; infra
nursery/nurseries ; crèche ; f ; infra
stadium ; stade ; m ; infra
electricity grid ; réseau électrique ; m ; infra
water supply ; approvisionnement en eau ; m u ; infra
railway ; chemin de fer ; m ; infra
mine ; mine ; f ; infra
shipyard ; chantier naval/chantiers navals ; m ; infra
refinery/refineries ; raffinerie ; f ; infra
hotel ; hôtel ; m ; infra
apartment ; appartement ; m ; infra
office building ; immeuble de bureaux#office ; m ; infra
# --- places ---
region ; région ; f ; place
country/countries ; pays ; m ; place
city/cities ; ville ; f ; place
village ; village ; m ; place
island ; île ; f ; place
coast ; côte ; f ; geo
mountain ; montagne ; f ; geo
valley ; vallée ; f ; geo
river ; rivière ; f ; geo
lake ; lac ; m ; geo
sea ; mer ; f ; geo
ocean ; océan ; m ; geo
forest ; forêt ; f ; geo
field ; champ ; m ; geo
border ; frontière ; f ; geo
area ; zone ; f ; geo
territory/territories ; territoire ; m ; place
province ; province ; f ; place
capital ; capitale ; f ; place
suburb ; banlieue ; f ; geo
neighbourhood ; quartier ; m ; geo
countryside ; campagne ; f u ; geo
street ; rue ; f ; geo
square ; place ; f ; geo
park ; parc ; m ; geo
garden ; jardin ; m ; geo
beach/beaches ; plage ; f ; geo
desert ; désert ; m ; geo
wetland ; zone humide ; f ; geo
bay ; baie ; f ; geo
peninsula ; péninsule ; f ; geo
glacier ; glacier ; m ; geo
hill ; colline ; f ; geo
plain ; plaine ; f ; geo
continent ; continent ; m ; geo
world ; monde ; m ; geo
Member State#polity ; État membre ; m ; place gov
third country/third countries ; pays tiers ; m ; place
candidate country/candidate countries ; pays candidat ; m ; place
neighbouring country/neighbouring countries ; pays voisin ; m ; place
developing country/developing countries ; pays en développement ; m ; place
outermost region ; région ultrapériphérique ; f ; place
mountain region ; région de montagne ; f ; place
coastal area ; zone côtière ; f ; geo
rural area ; zone rurale ; f ; geo
# --- goods ---
milk ; lait ; m u ; food
cheese ; fromage ; m ; food
wine ; vin ; m ; food
beer ; bière ; f ; food
bread ; pain ; m u ; food
meat ; viande ; f u ; food
beef ; viande bovine ; f u ; food
pork ; viande de porc ; f u ; food
fish ; poisson ; m ; food
wheat ; blé ; m u ; food
maize ; maïs ; m u ; food
rice ; riz ; m u ; food
sugar ; sucre ; m u ; food
fruit ; fruits ; m en:u fr:p ; food
vegetables ; légumes ; m p ; food
apple ; pomme ; f ; food
orange ; orange ; f ; food
potato ; pomme de terre ; f ; food
tomato ; tomate ; f ; food
olive oil ; huile d'olive ; f u ; food
cotton ; coton ; m u ; goods
tobacco ; tabac ; m u ; goods
wood ; bois ; m u ; goods
steel ; acier ; m u ; goods
coal ; charbon ; m u ; goods
oil ; pétrole ; m u ; goods
gas ; gaz ; m u ; goods
electricity ; électricité ; f u ; goods
water ; eau ; f u ; goods
paper ; papier ; m u ; goods
glass ; verre ; m u ; goods
medicine ; médicament ; m ; goods
vaccine ; vaccin ; m ; goods
computer ; ordinateur ; m ; goods
car ; voiture ; f ; goods
lorry/lorries ; camion ; m ; goods
ship ; navire ; m ; goods
plane ; avion ; m ; goods
train ; train ; m ; goods
bicycle ; vélo ; m ; goods
textiles ; textiles ; m p ; goods
clothing ; vêtements ; m en:u fr:p ; goods
shoe ; chaussure ; f ; goods
toy ; jouet ; m ; goods
fertiliser ; engrais ; m ; goods
pesticide ; pesticide ; m ; goods
seed ; semence ; f ; goods
chemical ; produit chimique ; m ; goods
weapon ; arme ; f ; goods
drug ; drogue ; f ; goods
cigarette ; cigarette ; f ; goods
banana ; banane ; f ; goods
honey ; miel ; m u ; food
butter ; beurre ; m u ; food
egg ; œuf ; m ; food
chicken ; poulet ; m ; food
lamb ; agneau ; m ; food
salmon ; saumon ; m ; food
cod ; cabillaud ; m u ; food
tuna ; thon ; m ; food
herring ; hareng ; m ; food
sardine ; sardine ; f ; food
mussel ; moule ; f ; food
oyster ; huître ; f ; food
apricot ; abricot ; m ; food
cherry/cherries ; cerise ; f ; food
strawberry/strawberries ; fraise ; f ; food
lemon ; citron ; m ; food
mango/mangoes ; mangue ; f ; food
coffee ; café ; m u ; food
tea ; thé ; m u ; food
cocoa ; cacao ; m u ; food
flower ; fleur ; f ; goods
machine ; machine ; f ; goods
mobile phone ; téléphone portable ; m ; goods
battery/batteries ; batterie ; f ; goods
solar panel ; panneau solaire ; m ; goods
tyre ; pneu ; m ; goods
# --- time ---
day ; jour ; m ; time
week ; semaine ; f ; time
month ; mois ; m ; time
year ; année ; f ; time
decade ; décennie ; f ; time
century/centuries ; siècle ; m ; time
morning ; matin ; m ; time
evening ; soir ; m ; time
session ; session ; f ; time event
sitting ; séance ; f ; time event
period ; période ; f ; time
date ; date ; f ; time
moment ; moment ; m ; time
summer ; été ; m ; time
winter ; hiver ; m ; time
autumn ; automne ; m ; time
holidays ; vacances ; f p ; time
# --- events ---
conference ; conférence ; f ; event
summit ; sommet ; m ; event
meeting ; réunion ; f ; event
election ; élection ; f ; event
referendum ; référendum ; m ; event
debate ; débat ; m ; event
discussion ; discussion ; f ; event
negotiations ; négociations ; f p ; event
vote ; vote ; m ; event
hearing ; audition ; f ; event
visit ; visite ; f ; event
mission ; mission ; f ; event
strike ; grève ; f ; event
demonstration ; manifestation ; f ; event
festival ; festival ; m ; event
exhibition ; exposition ; f ; event
ceremony/ceremonies ; cérémonie ; f ; event
accident ; accident ; m ; event
disaster ; catastrophe ; f ; event
war ; guerre ; f ; event
conflict ; conflit ; m ; event
attack ; attentat ; m ; event
trial ; procès ; m ; event
inquiry/inquiries ; enquête ; f ; event
consultation ; consultation ; f ; event
# --- abstract ---
freedom ; liberté ; f ; abstract
democracy ; démocratie ; f u ; abstract
transparency ; transparence ; f u ; abstract
solidarity ; solidarité ; f u ; abstract
responsibility/responsibilities ; responsabilité ; f ; abstract
dignity ; dignité ; f u ; abstract
equality ; égalité ; f u ; abstract
peace ; paix ; f u ; abstract
stability ; stabilité ; f u ; abstract
prosperity ; prospérité ; f u ; abstract
confidence ; confiance ; f u ; abstract
credibility ; crédibilité ; f u ; abstract
legitimacy ; légitimité ; f u ; abstract
sovereignty ; souveraineté ; f u ; abstract
subsidiarity ; subsidiarité ; f u ; abstract
proportionality ; proportionnalité ; f u ; abstract
efficiency ; efficacité ; f u ; abstract
quality ; qualité ; f u ; abstract
diversity ; diversité ; f u ; abstract
cohesion ; cohésion ; f u ; abstract
sustainability ; durabilité ; f u ; abstract
independence ; indépendance ; f u ; abstract
tolerance ; tolérance ; f u ; abstract
respect ; respect ; m u ; abstract
consensus ; consensus ; m u ; abstract
majority/majorities ; majorité ; f ; abstract
support ; soutien ; m u ; abstract
opposition ; opposition ; f u ; abstract
criticism ; critiques ; f en:u fr:p ; abstract
concern ; préoccupation ; f ; abstract
problem ; problème ; m ; abstract
issue ; question ; f ; abstract
challenge ; défi ; m ; abstract
risk ; risque ; m ; abstract
danger ; danger ; m ; abstract
threat ; menace ; f ; abstract
opportunity/opportunities ; chance ; f ; abstract
solution ; solution ; f ; abstract
result ; résultat ; m ; abstract
progress ; progrès ; m u ; abstract
effort ; effort ; m ; abstract
commitment ; engagement ; m ; abstract
position ; position ; f ; abstract
situation ; situation ; f ; abstract
context ; contexte ; m ; abstract
level ; niveau ; m ; abstract
number ; nombre ; m ; abstract
amount ; montant ; m ; abstract
percentage ; pourcentage ; m ; abstract
impact ; impact ; m ; abstract
consequence ; conséquence ; f ; abstract
effect ; effet ; m ; abstract
cause ; cause ; f ; abstract
reason ; raison ; f ; abstract
example ; exemple ; m ; abstract
case ; cas ; m ; abstract
point ; point ; m ; abstract
aspect ; aspect ; m ; abstract
element ; élément ; m ; abstract
part ; partie ; f ; abstract
basis/bases ; base ; f ; abstract
condition ; condition ; f ; abstract
criterion/criteria ; critère ; m ; abstract
priority/priorities ; priorité ; f ; abstract
objective ; objectif ; m ; abstract
principle ; principe ; m ; abstract
value ; valeur ; f ; abstract
interest ; intérêt ; m ; abstract
need ; besoin ; m ; abstract
access ; accès ; m u ; abstract
information ; informations ; f en:u fr:p ; abstract
knowledge ; connaissances ; f en:u fr:p ; abstract
experience ; expérience ; f ; abstract
skill ; compétence ; f ; abstract
training ; formation ; f u ; abstract
qualification ; qualification ; f ; abstract
job ; emploi ; m ; abstract econ
career ; carrière ; f ; abstract
future ; avenir ; m u ; abstract
history ; histoire ; f u ; abstract
tradition ; tradition ; f ; abstract
identity/identities ; identité ; f ; abstract
heritage ; patrimoine ; m u ; abstract
language ; langue ; f ; abstract
religion ; religion ; f ; abstract
science ; science ; f ; abstract
technology/technologies ; technologie ; f ; abstract
data ; données ; f p ; abstract
privacy ; vie privée ; f u ; abstract
personal data ; données personnelles ; f p ; abstract
work ; travail ; m u ; abstract
contribution ; contribution ; f ; abstract
role ; rôle ; m ; abstract
task ; tâche ; f ; abstract
goal ; but ; m ; abstract
method ; méthode ; f ; abstract
means ; moyens ; m p ; abstract
resource ; ressource ; f ; abstract
capacity/capacities ; capacité ; f ; abstract
structure ; structure ; f ; abstract
framework ; cadre ; m ; abstract
model ; modèle ; m ; abstract
approach ; approche ; f ; abstract
idea ; idée ; f ; abstract
view ; point de vue ; m ; abstract
attitude ; attitude ; f ; abstract
behaviour ; comportement ; m ; abstract
relationship ; relation ; f ; abstract
balance ; équilibre ; m u ; abstract
difference ; différence ; f ; abstract
change ; changement ; m ; abstract
improvement ; amélioration ; f ; abstract
increase ; augmentation ; f ; abstract
reduction ; réduction ; f ; abstract
decline ; déclin ; m u ; abstract
protection ; protection ; f u ; abstract
safety ; sécurité ; f u ; abstract
welfare ; bien-être ; m u ; abstract
health care ; soins de santé ; m en:u fr:p ; abstract
public service ; service public ; m ; abstract
environmental protection ; protection de l'environnement ; f u ; abstract
nuclear safety ; sûreté nucléaire ; f u ; abstract
renewable energy/renewable energies ; énergie renouvelable ; f ; abstract
energy efficiency ; efficacité énergétique ; f u ; abstract
biodiversity ; biodiversité ; f u ; abstract
living conditions ; conditions de vie ; f p ; abstract
working conditions ; conditions de travail ; f p ; abstract
standard of living ; niveau de vie ; m u ; abstract
rule of law ; État de droit#law ; m u ; abstract
"""

ADJECTIVES = """
# --- relational (after the noun in French) ---
economic ; économique ; ; doc measure econ abstract
social ; social ; ; doc measure abstract
political ; politique ; ; doc measure abstract
financial ; financier ; ; doc measure econ
environmental ; environnemental ; ; doc measure
agricultural ; agricole ; ; doc measure econ
industrial ; industriel ; ; doc measure econ goods
regional ; régional ; ; doc measure org gov
national ; national ; ; doc measure org gov econ
local ; local ; ; measure org gov
European ; européen ; ; doc measure econ
international ; international ; ; doc measure econ event
global ; mondial ; ; measure issue econ
public ; public ; ; measure econ infra
private ; privé ; ; econ org infra
legal ; juridique ; ; doc measure
fiscal ; fiscal ; ; measure econ
military ; militaire ; ; measure event
cultural ; culturel ; ; measure abstract event
medical ; médical ; ; measure
scientific ; scientifique ; ; doc abstract
technical ; technique ; ; doc measure abstract
commercial ; commercial ; ; measure econ
rural ; rural ; ; place measure
urban ; urbain ; ; place measure
maritime ; maritime ; ; measure
nuclear ; nucléaire ; ; measure
sustainable ; durable ; ; measure abstract
administrative ; administratif ; ; measure doc
legislative ; législatif ; ; doc measure
budgetary ; budgétaire ; ; measure doc econ
monetary ; monétaire ; ; measure econ
democratic ; démocratique ; ; measure abstract
humanitarian ; humanitaire ; ; measure event
annual ; annuel ; ; doc econ
monthly ; mensuel ; ; doc econ
daily ; quotidien ; ; abstract
common ; commun ; ; measure abstract doc
joint ; conjoint ; ; doc measure
specific ; spécifique ; ; measure abstract
general ; général ; ; measure abstract doc
particular ; particulier ; ; abstract
special ; spécial ; ; measure doc
appropriate ; approprié ; ; measure
adequate ; adéquat ; ; measure
sufficient ; suffisant ; ; measure econ
insufficient ; insuffisant ; ; measure econ
excessive ; excessif ; ; econ measure
significant ; significatif ; ; abstract econ
considerable ; considérable ; ; abstract econ
substantial ; substantiel ; ; econ abstract
modest ; modeste ; ; econ abstract
limited ; limité ; ; econ abstract measure
direct ; direct ; ; measure econ
indirect ; indirect ; ; measure econ
transparent ; transparent ; ; measure
fundamental ; fondamental ; ; abstract
basic ; élémentaire ; ; abstract
crucial ; crucial ; ; abstract
urgent ; urgent ; ; measure abstract
dangerous ; dangereux ; ; goods issue
safe ; sûr ; ; goods infra
healthy ; sain ; ; food
poor ; pauvre ; ; place people
rich ; riche ; ; place people
vulnerable ; vulnérable ; ; people place
serious ; grave ; ; issue event
severe ; sévère ; ; issue measure
heavy ; lourd ; ; measure
cheap ; bon marché/bon marché/bon marché/bon marché ; ; goods food
expensive ; coûteux ; ; goods infra measure
efficient ; efficace ; ; measure
effective ; effectif ; ; measure
responsible ; responsable ; ; people
independent ; indépendant ; ; org gov
open ; ouvert ; ; abstract measure
free ; gratuit ; ; abstract measure
complete ; complet ; ; doc
recent ; récent ; ; doc event
current ; actuel ; ; measure abstract issue
future ; futur ; ; measure abstract
previous ; précédent ; ; doc event
ambitious ; ambitieux ; ; doc measure
balanced ; équilibré ; ; doc measure
coherent ; cohérent ; ; doc measure
credible ; crédible ; ; doc measure
realistic ; réaliste ; ; doc measure
concrete ; concret ; ; measure abstract
positive ; positif ; ; abstract doc
negative ; négatif ; ; abstract
unacceptable ; inacceptable ; ; issue measure
illegal ; illégal ; ; issue goods
chronic ; chronique ; ; issue
structural ; structurel ; ; issue measure
digital ; numérique ; ; measure abstract
electronic ; électronique ; ; goods measure
traditional ; traditionnel ; ; food measure
organic ; biologique ; ; food
fresh ; frais ; ; food
frozen ; surgelé ; ; food
imported ; importé ; ; goods food
genetically modified ; génétiquement modifié ; ; food
modern ; moderne ; ; infra
obsolete ; obsolète ; ; infra
polluted ; pollué ; ; place
remote ; isolé ; ; place
mountainous ; montagneux ; ; place
coastal ; côtier ; ; place
northern ; septentrional ; ; place
southern ; méridional ; ; place
qualified ; qualifié ; ; people
unemployed ; sans emploi/sans emploi/sans emploi/sans emploi ; ; people
elderly ; âgé ; ; people
important ; important ; ; doc measure abstract issue
essential ; essentiel ; ; measure abstract
necessary ; nécessaire ; ; measure
difficult ; difficile ; ; abstract
clear ; clair ; ; doc abstract
strong ; fort ; ; abstract econ
weak ; faible ; ; econ abstract
excellent ; excellent ; ; doc
detailed ; détaillé ; ; doc
interesting ; intéressant ; ; doc
worrying ; préoccupant ; ; issue
alarming ; alarmant ; ; issue
major ; majeur ; ; issue abstract
minor ; mineur ; ; issue
historic ; historique ; ; event
# --- before the noun in French ---
new ; nouveau ; pre ; doc measure infra abstract goods
large ; grand ; pre ; infra org place
small ; petit ; pre ; infra org place
good ; bon ; pre ; abstract
bad ; mauvais ; pre ; abstract
young ; jeune ; pre ; people
old ; vieux ; pre ; infra
first ; premier ; pre ; doc event
last ; dernier ; pre ; doc event
long ; long ; pre ; abstract
high ; haut ; pre ; abstract
real ; véritable ; pre ; abstract issue
vast ; vaste ; pre ; place
sole ; seul ; pre ; abstract
former ; ancien ; pre ; role
beautiful ; beau ; pre ; place
"""

NATIONALITIES = """
French ; français ; France ; France ; f
German ; allemand ; Germany ; Allemagne ; f
Italian ; italien ; Italy ; Italie ; f
Spanish ; espagnol ; Spain ; Espagne ; f
Portuguese ; portugais ; Portugal ; Portugal ; m
Dutch ; néerlandais ; the Netherlands ; Pays-Bas ; m p
Belgian ; belge ; Belgium ; Belgique ; f
Austrian ; autrichien ; Austria ; Autriche ; f
Greek ; grec ; Greece ; Grèce ; f
Irish ; irlandais ; Ireland ; Irlande ; f
Danish ; danois ; Denmark ; Danemark ; m
Swedish ; suédois ; Sweden ; Suède ; f
Finnish ; finlandais ; Finland ; Finlande ; f
Polish ; polonais ; Poland ; Pologne ; f
Czech ; tchèque ; the Czech Republic ; République tchèque ; f
Hungarian ; hongrois ; Hungary ; Hongrie ; f
Romanian ; roumain ; Romania ; Roumanie ; f
Bulgarian ; bulgare ; Bulgaria ; Bulgarie ; f
Slovak ; slovaque ; Slovakia ; Slovaquie ; f
Slovenian ; slovène ; Slovenia ; Slovénie ; f
Estonian ; estonien ; Estonia ; Estonie ; f
Latvian ; letton ; Latvia ; Lettonie ; f
Lithuanian ; lituanien ; Lithuania ; Lituanie ; f
British ; britannique ; the United Kingdom ; Royaume-Uni ; m
Maltese ; maltais ; Malta ; Malte ; f0
Cypriot ; chypriote ; Cyprus ; Chypre ; f0
Luxembourg ; luxembourgeois ; Luxembourg ; Luxembourg ; m
Croatian ; croate ; Croatia ; Croatie ; f
Turkish ; turc ; Turkey ; Turquie ; f
Russian ; russe ; Russia ; Russie ; f
Ukrainian ; ukrainien ; Ukraine ; Ukraine ; f
Norwegian ; norvégien ; Norway ; Norvège ; f
Swiss ; suisse ; Switzerland ; Suisse ; f
Australian ; australien ; Australia ; Australie ; f
Canadian ; canadien ; Canada ; Canada ; m
Brazilian ; brésilien ; Brazil ; Brésil ; m
Chinese ; chinois ; China ; Chine ; f
Japanese ; japonais ; Japan ; Japon ; m
Indian ; indien ; India ; Inde ; f
Moroccan ; marocain ; Morocco ; Maroc ; m
Tunisian ; tunisien ; Tunisia ; Tunisie ; f
Egyptian ; égyptien ; Egypt ; Égypte ; f
Chilean ; chilien ; Chile ; Chili ; m
Argentinian ; argentin ; Argentina ; Argentine ; f
Mexican ; mexicain ; Mexico ; Mexique ; m
Icelandic ; islandais ; Iceland ; Islande ; f
Serbian ; serbe ; Serbia ; Serbie ; f
Albanian ; albanais ; Albania ; Albanie ; f
Israeli ; israélien ; Israel ; Israël ; m0
"""
# gender column: f/m, 'p' plural ("les Pays-Bas"), '0' no article (Malte, Chypre, Israël).

REGIONS = """
Brittany ; Bretagne ; f
Normandy ; Normandie ; f
Alsace ; Alsace ; f
Provence ; Provence ; f
Burgundy ; Bourgogne ; f
Corsica ; Corse ; f
Sicily ; Sicile ; f
Sardinia ; Sardaigne ; f
Tuscany ; Toscane ; f
Lombardy ; Lombardie ; f
Calabria ; Calabre ; f
Bavaria ; Bavière ; f
Saxony ; Saxe ; f
Andalusia ; Andalousie ; f
Catalonia ; Catalogne ; f
Galicia ; Galice ; f
Castile ; Castille ; f
Wallonia ; Wallonie ; f
Flanders ; Flandre ; f
Scotland ; Écosse ; f
Lapland ; Laponie ; f
Silesia ; Silésie ; f
Transylvania ; Transylvanie ; f
Crete ; Crète ; f
Macedonia ; Macédoine ; f
Aquitaine ; Aquitaine ; f
Lorraine ; Lorraine ; f
Auvergne ; Auvergne ; f
Extremadura ; Estrémadure ; f
Apulia ; Pouilles ; f p
"""

CITIES = """
Brussels ; Bruxelles
Strasbourg ; Strasbourg
Paris ; Paris
Lyon ; Lyon
Marseilles ; Marseille
Bordeaux ; Bordeaux
Toulouse ; Toulouse
Lille ; Lille
Nantes ; Nantes
Lisbon ; Lisbonne
Porto ; Porto
Madrid ; Madrid
Barcelona ; Barcelone
Seville ; Séville
Valencia ; Valence
Rome ; Rome
Milan ; Milan
Naples ; Naples
Venice ; Venise
Turin ; Turin
Berlin ; Berlin
Munich ; Munich
Hamburg ; Hambourg
Cologne ; Cologne
Frankfurt ; Francfort
Vienna ; Vienne
Prague ; Prague
Warsaw ; Varsovie
Krakow ; Cracovie
Budapest ; Budapest
Athens ; Athènes
Thessaloniki ; Thessalonique
Dublin ; Dublin
London ; Londres
Edinburgh ; Édimbourg
Copenhagen ; Copenhague
Stockholm ; Stockholm
Helsinki ; Helsinki
Amsterdam ; Amsterdam
Rotterdam ; Rotterdam
Antwerp ; Anvers
Geneva ; Genève
Bucharest ; Bucarest
Sofia ; Sofia
Riga ; Riga
Tallinn ; Tallinn
Vilnius ; Vilnius
Ljubljana ; Ljubljana
Bratislava ; Bratislava
Nicosia ; Nicosie
Valletta ; La Valette
Gdansk ; Gdansk
Oporto ; Porto
"""

RIVERS = """
Rhine ; Rhin ; m
Danube ; Danube ; m
Loire ; Loire ; f
Seine ; Seine ; f
Rhône ; Rhône ; m
Elbe ; Elbe ; f
Tagus ; Tage ; m
Thames ; Tamise ; f
Meuse ; Meuse ; f
Oder ; Oder ; m
Vistula ; Vistule ; f
Po ; Pô ; m
Ebro ; Èbre ; m
Garonne ; Garonne ; f
Moselle ; Moselle ; f
Douro ; Douro ; m
Scheldt ; Escaut ; m
Dordogne ; Dordogne ; f
"""

SURNAMES = """Müller Schmidt Dupont Martin Rossi Bianchi García Fernández Kowalski Nowak Jansen Visser
Nielsen Hansen Papadopoulos Murphy Silva Santos Novák Horváth Popescu Virtanen Andersson Peeters Lambert Janssens
Costa Ferreira Moreau Bernard Weber Fischer Romano Ricci López Martínez Walsh O'Brien Berzins Kask
Petrov Ioannou Borg Farrugia Lefebvre Girard Wagner Becker Esposito Colombo Sánchez Pérez Wiśniewski
Smith Jones Taylor Brown Wilson Evans"""

VERBS = """
# --- acting on documents ---
adopt ; adopter ; inst org gov > doc measure
reject ; rejeter ; inst org gov > doc
approve ; approuver ; inst org gov > doc measure
amend ; modifier ; inst gov > doc
examine ; examiner ; inst org gov > doc issue
present ; présenter ; inst gov role > doc
publish ; publier ; inst org gov > doc
propose ; proposer ; inst gov role > measure
support ; soutenir ; inst org gov people role > doc measure people
oppose ; s'opposer ; inst org gov people role > +à doc measure
withdraw ; retirer ; inst gov > doc
sign ; signer ; inst gov role > doc
ratify ; ratifier ; gov place > doc
welcome ; saluer ; inst org gov role > doc measure
criticise ; critiquer ; inst org gov people role > doc measure
prepare ; préparer ; inst gov org > doc measure
draw/drew/drawn up ; élaborer ; inst gov org > doc measure
submit ; soumettre ; inst gov org role > doc
vote on ; voter ; inst people > doc
review ; réviser ; inst gov > doc measure
debate ; débattre ; inst org > +de doc issue
discuss ; discuter ; inst org gov role > +de doc issue measure
endorse ; entériner ; inst gov > doc
translate ; traduire ; inst org > doc
read ; lire ; people role > doc
study ; étudier ; inst org people > doc issue
accept ; accepter ; inst gov org > doc measure
refuse ; refuser ; inst gov org > doc measure
postpone ; reporter ; inst gov > doc event
# --- implementing measures ---
implement ; mettre en œuvre ; inst gov org place > measure doc
apply ; appliquer ; inst gov org place > measure doc
strengthen ; renforcer ; inst gov org place > measure abstract
simplify ; simplifier ; inst gov > measure
harmonise ; harmoniser ; inst gov place > measure
coordinate ; coordonner ; inst gov > measure
finance ; financer ; inst gov org place > measure infra
launch ; lancer ; inst gov org > measure
introduce ; introduire ; inst gov place > measure
abolish ; supprimer ; inst gov place > measure
suspend ; suspendre ; inst gov > measure
extend ; prolonger ; inst gov > measure
evaluate ; évaluer ; inst gov org > measure issue
monitor ; surveiller ; inst gov org > measure issue
establish ; instaurer ; inst gov place > measure
set/set/set up ; mettre en place ; inst gov org place > measure
carry/carried/carried out ; réaliser ; inst gov org > doc measure
improve ; améliorer ; inst gov org place > measure abstract infra
develop ; développer ; inst gov org place > measure abstract
promote ; promouvoir ; inst gov org > abstract measure
encourage ; encourager ; inst gov > measure abstract people
facilitate ; faciliter ; inst gov > abstract measure
guarantee ; garantir ; inst gov place > abstract
ensure ; assurer ; inst gov place > abstract
respect ; respecter ; inst gov place org people > doc measure abstract
defend ; défendre ; inst gov people org role > abstract people
protect ; protéger ; inst gov place org > people abstract place geo
reinforce ; consolider ; inst gov > abstract measure
adapt ; adapter ; inst gov org > measure
modernise ; moderniser ; inst gov org place > measure infra
reform ; réformer ; inst gov place > measure
phase/phased/phased out ; supprimer progressivement ; inst gov place > measure goods
replace ; remplacer ; inst gov org > measure infra
change ; changer ; inst gov > measure
complete ; achever ; inst gov org > doc measure infra
manage ; gérer ; inst gov org > measure infra
control ; contrôler ; inst gov org > measure goods issue
check ; vérifier ; inst gov org > doc goods
# --- problems ---
combat ; combattre ; inst gov place org > issue
fight ; lutter ; inst gov place org > +contre issue
tackle ; s'attaquer ; inst gov place org > +à issue
reduce ; réduire ; inst gov place org > issue econ
prevent ; prévenir ; inst gov place org > issue
address ; traiter ; inst gov org > issue
solve ; résoudre ; inst gov org > issue
denounce ; dénoncer ; inst org people role > issue
condemn ; condamner ; inst org gov people role > issue
cause ; provoquer ; issue > issue
aggravate ; aggraver ; issue > issue
worsen ; aggraver ; measure issue > issue
affect ; toucher ; issue > people place domain
threaten ; menacer ; issue > people place abstract geo
damage ; endommager ; issue > infra geo
destroy ; détruire ; issue event > infra geo
# --- people and organisations ---
help ; aider ; inst gov org > people org
assist ; assister ; inst gov org > people
inform ; informer ; inst gov org > people
consult ; consulter ; inst gov org > people org
train ; former ; org gov > people
employ ; employer ; org infra > people
recruit ; recruter ; org gov infra > people
compensate ; indemniser ; inst gov org > people
invite ; inviter ; inst gov role > people role
thank ; remercier ; inst people role > people role
congratulate ; féliciter ; inst people role > people role
receive ; recevoir ; inst gov role people org > people role doc
meet ; rencontrer ; inst gov role people > people role
represent ; représenter ; org role > people
mobilise ; mobiliser ; inst gov org > people measure
involve ; associer ; inst gov > people org
reassure ; rassurer ; inst gov role > people
disappoint ; décevoir ; inst gov measure doc > people
convince ; convaincre ; inst gov role people > people
hire ; embaucher ; org > people
dismiss ; licencier ; org > people
# --- buildings and infrastructure ---
build ; construire ; gov org place > infra
repair ; réparer ; gov org > infra
renovate ; rénover ; gov org place > infra
close ; fermer ; gov org > infra
open ; ouvrir ; gov org > infra
visit ; visiter ; role people > infra place geo
inaugurate ; inaugurer ; role gov > infra
equip ; équiper ; gov org > infra
connect ; relier ; infra > place geo
demolish ; démolir ; gov org > infra
# --- goods and economy ---
produce ; produire ; place people org > goods
export ; exporter ; place people org > goods
import ; importer ; place people org > goods
sell ; vendre ; people org place > goods
buy ; acheter ; people org place > goods
consume ; consommer ; people place > goods
transport ; transporter ; org people > goods
store ; stocker ; org people > goods
label ; étiqueter ; org people > goods
ban ; interdire ; inst gov place > goods measure
authorise ; autoriser ; inst gov place > goods measure
increase ; augmenter ; inst gov org place > econ measure
raise ; relever ; inst gov org > econ
lower ; baisser ; inst gov org > econ
cut ; réduire ; inst gov org > econ
invest ; investir ; gov org people place > +dans ~in domain infra
spend ; dépenser ; gov org place > econ
pay ; payer ; people org gov > econ
collect ; percevoir ; gov place > econ
distribute ; distribuer ; inst gov org > econ goods
allocate ; allouer ; inst gov > econ
freeze ; geler ; inst gov > econ measure
guarantee ; garantir ; inst gov > econ
recover ; récupérer ; gov org > econ
# --- intransitive ---
rise/rose/risen ; augmenter ; econ issue >
fall/fell/fallen ; baisser ; econ issue >
decrease ; diminuer ; econ issue >
double ; doubler ; econ issue >
stabilise ; se stabiliser ; econ issue >
improve ; s'améliorer ; econ abstract >
deteriorate ; se détériorer ; econ abstract >
persist ; persister ; issue >
spread ; se propager ; issue >
disappear ; disparaître ; issue goods >
protest ; manifester ; people >
emigrate ; émigrer ; people >
work ; travailler ; people >
suffer ; souffrir ; people place >
vote ; voter ; people inst >
arrive ; *arriver ; people >
leave ; *partir ; people >
return ; *rentrer ; people >
meet ; se réunir ; inst org >
intervene ; *intervenir ; inst gov >
hesitate ; hésiter ; inst gov >
abstain ; s'abstenir ; inst gov people >
react ; réagir ; inst gov people >
cooperate ; coopérer ; inst gov org place >
negotiate ; négocier ; inst gov org >
succeed ; réussir ; measure doc >
fail ; échouer ; measure doc >
# --- with a prepositional object ---
take/took/taken part in ; participer ; people org gov inst > +à event
contribute to ; contribuer ; measure org people place > +à abstract measure
respond to ; répondre ; inst gov role > +à doc issue
benefit from ; bénéficier ; people place org > +de measure econ
depend on ; dépendre ; people place org > +de econ goods measure
put/put/put an end to ; mettre fin ; inst gov > +à issue
deal/dealt/dealt with ; s'occuper ; inst gov org > +de issue people
comply with ; se conformer ; place org people > +à doc measure
give/gave/given up ; renoncer ; gov place org > +à measure goods
face ; faire face ; people place org inst > +à issue
remedy ; remédier ; inst gov > +à issue
insist on ; insister ; inst gov people role > +sur abstract measure
call/called/called for ; réclamer ; inst people org role > measure abstract
ask/asked/asked for ; demander ; inst people org role gov > measure abstract
look/looked/looked into ; se pencher ; inst gov org > +sur issue doc
"""

ADVERBS = """
also ; également
already ; déjà
still ; toujours
again ; à nouveau
finally ; enfin
clearly ; clairement
rapidly ; rapidement
immediately ; immédiatement
urgently ; d'urgence
unfortunately ; malheureusement
fortunately ; heureusement
obviously ; évidemment
certainly ; certainement
probably ; probablement
today ; aujourd'hui
tomorrow ; demain
yesterday ; hier
now ; maintenant
soon ; bientôt
recently ; récemment
currently ; actuellement
generally ; généralement
particularly ; particulièrement
especially ; notamment
strongly ; fortement
fully ; pleinement
seriously ; sérieusement
considerably ; considérablement
gradually ; progressivement
regularly ; régulièrement
carefully ; attentivement
rightly ; à juste titre
together ; ensemble
very ; très
often ; souvent
always ; toujours
never ; jamais
sometimes ; parfois
however ; cependant
moreover ; en outre
nevertheless ; néanmoins
indeed ; en effet
above all ; surtout
quickly ; vite
slowly ; lentement
enough ; assez
completely ; complètement
partly ; en partie
mainly ; principalement
directly ; directement
openly ; ouvertement
publicly ; publiquement
firmly ; fermement
sincerely ; sincèrement
deeply ; profondément
"""

NUMBERS = """
two ; deux
three ; trois
four ; quatre
five ; cinq
six ; six
seven ; sept
eight ; huit
nine ; neuf
ten ; dix
eleven ; onze
twelve ; douze
fifteen ; quinze
twenty ; vingt
thirty ; trente
forty ; quarante
fifty ; cinquante
hundred ; cent
thousand ; mille
"""

MONTHS = """January ; janvier
February ; février
March ; mars
April ; avril
May ; mai
June ; juin
July ; juillet
August ; août
September ; septembre
October ; octobre
November ; novembre
December ; décembre"""

DAYS = """Monday ; lundi
Tuesday ; mardi
Wednesday ; mercredi
Thursday ; jeudi
Friday ; vendredi"""


# ---------------------------------------------------------------------------------------------
# Parsed entries


class Noun:
    __slots__ = ("en", "en_pl", "fr", "fr_pl", "gender", "en_number", "fr_number", "en_bare",
                 "classes", "en_tags", "fr_tags", "key", "en_the")

    def __init__(self, en, en_pl, fr, fr_pl, gender, en_number, fr_number, en_bare, classes,
                 en_tags, fr_tags):
        self.en, self.en_pl, self.fr, self.fr_pl = en, en_pl, fr, fr_pl
        self.gender, self.en_number, self.fr_number = gender, en_number, fr_number
        self.en_bare, self.classes = en_bare, classes
        self.en_tags, self.fr_tags = en_tags, fr_tags  # {word index: sense id}
        self.key = en
        self.en_the = False  # keeps "the" when generic: "the environment"

    @property
    def mass(self) -> bool:
        return self.en_number == "u"

    def __repr__(self):
        return f"Noun({self.en!r}, {self.fr!r}, {self.gender})"


class Adjective:
    __slots__ = ("en", "fr_forms", "pre", "classes", "en_tags", "fr_tags")

    def __init__(self, en, fr_forms, pre, classes, en_tags=None, fr_tags=None):
        self.en, self.fr_forms, self.pre, self.classes = en, fr_forms, pre, classes
        self.en_tags, self.fr_tags = en_tags or {}, fr_tags or {}

    def __repr__(self):
        return f"Adjective({self.en!r}, {self.fr_forms[0]!r})"


class Verb:
    __slots__ = ("en", "en_tail", "en_3sg", "en_past", "en_pp", "fr", "fr_tail", "subject_classes",
                 "object_classes", "fr_prep", "en_prep", "key")

    def __init__(self, en, en_tail, en_past, en_pp, fr, fr_tail, subject_classes, object_classes,
                 fr_prep, en_prep):
        self.en, self.en_tail = en, en_tail
        self.en_3sg = english.third_person(en)
        self.en_past, self.en_pp = en_past, en_pp
        self.fr, self.fr_tail = fr, fr_tail  # fr: a french.FrenchVerb
        self.subject_classes, self.object_classes = subject_classes, object_classes
        self.fr_prep, self.en_prep = fr_prep, en_prep
        self.key = (en + " " + en_tail).strip()

    @property
    def transitive(self) -> bool:
        return bool(self.object_classes)

    @property
    def passivable(self) -> bool:
        return self.transitive and self.fr_prep is None and self.en_prep is None and not self.fr.pronominal

    def __repr__(self):
        return f"Verb({self.key!r}, {self.fr.infinitive!r})"


def _lines(block):
    for line in block.strip().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            yield [field.strip() for field in line.split(";")]


def _strip_tags(text, language, polysemous):
    """'Member State#polity' -> ('Member State', {1: 'state/polity'}). `polysemous` maps each
    polysemous surface form of `language` to its lemma; an untagged one is an error."""
    words, tags = [], {}
    for i, word in enumerate(text.split(" ")):
        name = None
        if "#" in word:
            word, name = word.split("#")
        lemma = polysemous.get(word.lower())
        if lemma is not None and name != "?":
            if name is None:
                raise ValueError(f"polysemous {language} word {word!r} in lexicon entry {text!r} needs a #sense tag")
            tags[i] = f"{lemma}/{name}"
        elif name not in (None, "?"):
            raise ValueError(f"{word!r} in {text!r} is tagged #{name} but is not a polysemous {language} word")
        words.append(word)
    return " ".join(words), tags


def parse_nouns(block: str, polysemous_en: dict[str, str], polysemous_fr: dict[str, str]) -> list[Noun]:
    nouns = []
    for fields in _lines(block):
        en, fr, flags, classes = fields
        flags = flags.split()
        gender = flags[0]
        en_number = fr_number = "c"  # countable
        en_bare = en_the = False
        for flag in flags[1:]:
            if flag in ("u", "p"):
                en_number = fr_number = flag
            elif flag.startswith("en:"):
                if flag == "en:bare":
                    en_bare = True
                elif flag == "en:the":
                    en_the = True
                else:
                    en_number = flag[3:]
            elif flag.startswith("fr:"):
                fr_number = flag[3:]
        en_sg, _, en_pl = en.partition("/")
        fr_sg, _, fr_pl = fr.partition("/")
        en_sg, en_tags = _strip_tags(en_sg, "English", polysemous_en)
        fr_sg, fr_tags = _strip_tags(fr_sg, "French", polysemous_fr)
        en_pl = _strip_tags(en_pl, "English", polysemous_en)[0] if en_pl else english.noun_plural(en_sg)
        fr_pl = _strip_tags(fr_pl, "French", polysemous_fr)[0] if fr_pl else french.noun_plural(fr_sg)
        if en_number == "p":
            en_pl = en_sg
        if fr_number == "p":
            fr_pl = fr_sg
        nouns.append(Noun(en_sg, en_pl, fr_sg, fr_pl, gender, en_number, fr_number, en_bare,
                          tuple(classes.split()), en_tags, fr_tags))
        nouns[-1].en_the = en_the
    return nouns


def parse_adjectives(block: str) -> list[Adjective]:
    adjectives = []
    for en, fr, pre, classes in _lines(block):
        forms = fr.split("/")
        forms = tuple(forms) if len(forms) == 4 else french.adjective_forms(forms[0])
        adjectives.append(Adjective(en, forms, pre == "pre", tuple(classes.split())))
    return adjectives


def parse_verbs(block: str) -> list[Verb]:
    verbs = []
    for en, fr, frame in _lines(block):
        en_words = en.split(" ")
        head = en_words[0]
        if "/" in head:
            head, past, pp = head.split("/")
        else:
            past, pp = english.past_forms(head)
        en_tail = " ".join(en_words[1:])
        pronominal = fr.startswith(("se ", "s'"))
        fr = fr[3:] if fr.startswith("se ") else fr[2:] if fr.startswith("s'") else fr
        aux = "avoir"
        if fr.startswith("*"):
            aux, fr = "être", fr[1:]
        fr_words = fr.split(" ")
        fr_verb = french.FrenchVerb(fr_words[0], aux=aux, pronominal=pronominal)
        subjects, _, objects = frame.partition(">")
        fr_prep = en_prep = None
        object_classes = []
        for item in objects.split():
            if item.startswith("+"):
                fr_prep = item[1:]
            elif item.startswith("~"):
                en_prep = item[1:]
            else:
                object_classes.append(item)
        verbs.append(Verb(head, en_tail, past, pp, fr_verb, " ".join(fr_words[1:]),
                          tuple(subjects.split()), tuple(object_classes), fr_prep, en_prep))
    return verbs


def parse_pairs(block: str) -> list[tuple[str, ...]]:
    return [tuple(fields) for fields in _lines(block)]
