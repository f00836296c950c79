package locale

import "strings"

// text is one message in each non-default locale.
type text struct{ fr, de, ja string }

func (t text) in(lang string) (string, bool) {
	var s string
	switch lang {
	case "fr":
		s = t.fr
	case "de":
		s = t.de
	case "ja":
		s = t.ja
	}
	return s, s != ""
}

// titles are problem titles by error code (RFC 9457 §3.1.3: a short,
// human-readable summary of the problem type).
var titles = map[string]text{
	"invalid_request":        {"Requête invalide", "Ungültige Anfrage", "無効なリクエスト"},
	"unauthorized":           {"Authentification requise", "Authentifizierung erforderlich", "認証が必要です"},
	"invalid_token":          {"Jeton invalide", "Ungültiges Token", "無効なトークン"},
	"insufficient_scope":     {"Portée insuffisante", "Unzureichender Scope", "スコープが不足しています"},
	"not_found":              {"Ressource introuvable", "Ressource nicht gefunden", "リソースが見つかりません"},
	"method_not_allowed":     {"Méthode non autorisée", "Methode nicht erlaubt", "許可されていないメソッド"},
	"request_too_large":      {"Requête trop volumineuse", "Anfrage zu groß", "リクエストが大きすぎます"},
	"unsupported_media_type": {"Type de contenu non pris en charge", "Nicht unterstützter Inhaltstyp", "サポートされていないメディアタイプ"},
	"limit_reached":          {"Limite atteinte", "Limit erreicht", "上限に達しました"},
	"misdirected_request":    {"Requête mal dirigée", "Fehlgeleitete Anfrage", "誤って送信されたリクエスト"},
	"internal_error":         {"Erreur interne", "Interner Fehler", "内部エラー"},
	"conflict":               {"Conflit", "Konflikt", "競合"},
	"unprocessable":          {"Contenu non traitable", "Nicht verarbeitbarer Inhalt", "処理できない内容"},
	"unknown_event_type":     {"Type d'événement inconnu", "Unbekannter Ereignistyp", "不明なイベントタイプ"},
	"invalid_scope":          {"Portée invalide", "Ungültiger Scope", "無効なスコープ"},
	"invalid_url":            {"URL de webhook invalide", "Ungültige Webhook-URL", "無効なWebhook URL"},
	"review_required":        {"Accès sur examen requis", "Geprüfter Zugriff erforderlich", "審査済みアクセスが必要です"},
	"webhook_disabled":       {"Webhook désactivé", "Webhook deaktiviert", "Webhookは無効です"},
	"delivery_pending":       {"Livraison en attente", "Zustellung ausstehend", "配信は保留中です"},
	"not_pending":            {"Pas en attente", "Nicht ausstehend", "保留中ではありません"},
	"shutting_down":          {"Arrêt en cours", "Wird heruntergefahren", "シャットダウン中"},
	"unavailable":            {"Service indisponible", "Dienst nicht verfügbar", "サービス利用不可"},
	"not_available":          {"Non disponible", "Nicht verfügbar", "利用できません"},
	"rate_limited":           {"Trop de requêtes", "Zu viele Anfragen", "リクエストが多すぎます"},
}

// statusTitles title a problem whose code has no entry of titles.
var statusTitles = map[int]text{
	400: {"Requête invalide", "Ungültige Anfrage", "無効なリクエスト"},
	401: {"Non autorisé", "Nicht autorisiert", "認証されていません"},
	403: {"Interdit", "Verboten", "禁止されています"},
	404: {"Introuvable", "Nicht gefunden", "見つかりません"},
	405: {"Méthode non autorisée", "Methode nicht erlaubt", "許可されていないメソッド"},
	409: {"Conflit", "Konflikt", "競合"},
	413: {"Contenu trop volumineux", "Inhalt zu groß", "内容が大きすぎます"},
	415: {"Type de contenu non pris en charge", "Nicht unterstützter Inhaltstyp", "サポートされていないメディアタイプ"},
	421: {"Requête mal dirigée", "Fehlgeleitete Anfrage", "誤って送信されたリクエスト"},
	422: {"Contenu non traitable", "Nicht verarbeitbarer Inhalt", "処理できない内容"},
	429: {"Trop de requêtes", "Zu viele Anfragen", "リクエストが多すぎます"},
	500: {"Erreur interne", "Interner Fehler", "内部エラー"},
	501: {"Non implémenté", "Nicht implementiert", "実装されていません"},
	502: {"Passerelle incorrecte", "Fehlerhaftes Gateway", "不正なゲートウェイ"},
	503: {"Service indisponible", "Dienst nicht verfügbar", "サービス利用不可"},
	504: {"Délai de passerelle dépassé", "Gateway-Zeitüberschreitung", "ゲートウェイタイムアウト"},
}

// Title returns the problem title of code (or, failing that, of status)
// in lang, and false when there is none: the caller keeps its English
// title, in Default as in an unsupported locale.
func Title(lang, code string, status int) (string, bool) {
	if t, ok := titles[code]; ok {
		return t.in(lang)
	}
	if t, ok := statusTitles[status]; ok {
		return t.in(lang)
	}
	return "", false
}

// template is an English detail with {0}, {1}... where it embeds values
// (field names, paths, methods, numbers) that stay verbatim in every
// translation.
type template struct {
	en string
	text
}

// details are the translated details, by code. A detail matching none of
// its code's templates stays English.
var details = map[string][]template{
	"invalid_request": {
		{"the request does not match the operation's schema: {0}", text{
			"la requête ne correspond pas au schéma de l'opération : {0}",
			"die Anfrage entspricht nicht dem Schema der Operation: {0}",
			"リクエストがオペレーションのスキーマに一致しません: {0}"}},
		{"the request does not match the operation's parameters: {0}", text{
			"la requête ne correspond pas aux paramètres de l'opération : {0}",
			"die Anfrage entspricht nicht den Parametern der Operation: {0}",
			"リクエストがオペレーションのパラメーターに一致しません: {0}"}},
		{"the request body is refused at {0}: {1}", text{
			"le corps de la requête est refusé à {0} : {1}",
			"der Anfragetext wird bei {0} abgelehnt: {1}",
			"リクエストボディは {0} で拒否されました: {1}"}},
		{"the query string does not parse: {0}", text{
			"la chaîne de requête est illisible : {0}",
			"die Query-Zeichenkette ist nicht lesbar: {0}",
			"クエリ文字列を解析できません: {0}"}},
		{"bearer tokens are accepted only in the Authorization header, never in the query string", text{
			"les jetons bearer ne sont acceptés que dans l'en-tête Authorization, jamais dans la chaîne de requête",
			"Bearer-Token werden nur im Authorization-Header akzeptiert, nie in der Query-Zeichenkette",
			"Bearerトークンは Authorization ヘッダーでのみ受け付け、クエリ文字列では受け付けません"}},
		{"query.cursor: not a cursor returned by this API", text{
			"query.cursor : ce n'est pas un curseur renvoyé par cette API",
			"query.cursor: kein Cursor, den diese API zurückgegeben hat",
			"query.cursor: このAPIが返したカーソルではありません"}},
	},
	"unauthorized": {
		{"this operation requires a bearer token in the Authorization header", text{
			"cette opération exige un jeton bearer dans l'en-tête Authorization",
			"diese Operation erfordert ein Bearer-Token im Authorization-Header",
			"このオペレーションには Authorization ヘッダーのBearerトークンが必要です"}},
	},
	"invalid_token": {
		{"the bearer token is malformed, expired, revoked, or not issued by this sandbox", text{
			"le jeton bearer est mal formé, expiré, révoqué ou n'a pas été émis par ce sandbox",
			"das Bearer-Token ist fehlerhaft, abgelaufen, widerrufen oder nicht von dieser Sandbox ausgestellt",
			"Bearerトークンが不正、期限切れ、失効済み、またはこのサンドボックスが発行したものではありません"}},
	},
	"insufficient_scope": {
		{"the token is valid but lacks the scope this operation requires: {0}", text{
			"le jeton est valide mais n'a pas la portée qu'exige cette opération : {0}",
			"das Token ist gültig, aber ihm fehlt der Scope, den diese Operation erfordert: {0}",
			"トークンは有効ですが、このオペレーションに必要なスコープがありません: {0}"}},
	},
	"not_found": {
		{"no operation of the Argus contract matches {0}", text{
			"aucune opération du contrat Argus ne correspond à {0}",
			"keine Operation des Argus-Vertrags passt zu {0}",
			"{0} に一致するArgus契約のオペレーションはありません"}},
		{"no such resource in the caller's tenant", text{
			"aucune ressource de ce type dans le tenant de l'appelant",
			"keine solche Ressource im Mandanten des Aufrufers",
			"呼び出し元のテナントにそのようなリソースはありません"}},
		{"no {0} with this id in the caller's tenant", text{
			"aucun objet {0} avec cet id dans le tenant de l'appelant",
			"kein Objekt {0} mit dieser ID im Mandanten des Aufrufers",
			"呼び出し元のテナントにこのIDの {0} はありません"}},
	},
	"method_not_allowed": {
		{"{0} is not allowed on {1}; allowed: {2}", text{
			"{0} n'est pas autorisé sur {1} ; autorisés : {2}",
			"{0} ist auf {1} nicht erlaubt; erlaubt: {2}",
			"{1} では {0} は許可されていません。許可: {2}"}},
	},
	"request_too_large": {
		{"the request body exceeds {0} bytes", text{
			"le corps de la requête dépasse {0} octets",
			"der Anfragetext überschreitet {0} Bytes",
			"リクエストボディが {0} バイトを超えています"}},
	},
	"unsupported_media_type": {
		{"the request's Content-Type is not accepted by this operation", text{
			"le Content-Type de la requête n'est pas accepté par cette opération",
			"der Content-Type der Anfrage wird von dieser Operation nicht akzeptiert",
			"リクエストの Content-Type はこのオペレーションでは受け付けられません"}},
	},
	"limit_reached": {
		{"the limit of {0} {1} is reached; {2}", text{
			"la limite de {0} ({1}) est atteinte ; {2}",
			"das Limit von {0} ({1}) ist erreicht; {2}",
			"上限 {0}（{1}）に達しました。{2}"}},
		{"the limit of {0} {1} is reached", text{
			"la limite de {0} ({1}) est atteinte",
			"das Limit von {0} ({1}) ist erreicht",
			"上限 {0}（{1}）に達しました"}},
	},
	"internal_error": {
		{"the sandbox failed while serving this request; quote the request_id when reporting it", text{
			"le sandbox a échoué en servant cette requête ; citez le request_id en la signalant",
			"die Sandbox ist beim Bearbeiten dieser Anfrage gescheitert; nennen Sie die request_id, wenn Sie es melden",
			"このリクエストの処理中にサンドボックスが失敗しました。報告の際は request_id を添えてください"}},
	},
}

// Detail returns the detail of a problem of code in lang, and false when
// detail matches none of the code's templates. The values a template
// captures (field names, paths, scopes, numbers) are copied verbatim.
func Detail(lang, code, detail string) (string, bool) {
	if lang == Default {
		return "", false
	}
	for _, t := range details[code] {
		args, ok := capture(t.en, detail)
		if !ok {
			continue
		}
		s, ok := t.in(lang)
		if !ok {
			return "", false
		}
		for i, a := range args {
			s = strings.ReplaceAll(s, "{"+string(rune('0'+i))+"}", a)
		}
		return s, true
	}
	return "", false
}

// capture matches s against pattern, whose {0}, {1}... (in order, at most
// ten) each stand for a non-empty run, the shortest that lets the rest
// match except the last, which takes what remains.
func capture(pattern, s string) ([]string, bool) {
	var args []string
	for i := 0; ; i++ {
		ph := "{" + string(rune('0'+i)) + "}"
		lit, rest, found := strings.Cut(pattern, ph)
		if !strings.HasPrefix(s, lit) {
			return nil, false
		}
		s = s[len(lit):]
		if !found {
			return args, s == ""
		}
		pattern = rest
		// The literal after this placeholder, up to the next one.
		next := pattern
		if j := strings.Index(next, "{"+string(rune('0'+i+1))+"}"); j >= 0 {
			next = next[:j]
		}
		if next == "" {
			if pattern != "" {
				return nil, false // two placeholders in a row
			}
			if s == "" {
				return nil, false
			}
			return append(args, s), true
		}
		end := strings.Index(s[min(1, len(s)):], next)
		if end < 0 {
			return nil, false
		}
		end++
		if pattern == next {
			// The last literal ends the string: take the last occurrence.
			if !strings.HasSuffix(s, next) || len(s) == len(next) {
				return nil, false
			}
			end = len(s) - len(next)
		}
		args = append(args, s[:end])
		s = s[end:]
	}
}
