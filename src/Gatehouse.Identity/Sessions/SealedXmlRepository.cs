using System.Xml.Linq;
using Gatehouse.Core.Security;
using Gatehouse.Storage;
using Gatehouse.Storage.Entities;
using Microsoft.AspNetCore.DataProtection.Repositories;

namespace Gatehouse.Identity.Sessions;

/// <summary>
/// Keeps ASP.NET Core's data-protection keys (which protect login cookies, antiforgery tokens and the OpenID Connect
/// state) in <c>data_protection_keys</c>, each key's XML sealed by the vault.
/// </summary>
/// <remarks>
/// In the database, every replica reads the same key ring, so a cookie issued by one is accepted by the others and
/// survives a restart. The vault seals the whole element, so no separate XML encryptor is configured; <c>keys rotate</c>
/// re-seals the column like any other.
/// </remarks>
public sealed class SealedXmlRepository(GatehouseStorage storage, ISecretProtector protector, TimeProvider time) : IXmlRepository
{
    /// <inheritdoc />
    public IReadOnlyCollection<XElement> GetAllElements()
    {
        using var db = storage.CreateContext();
        return db.DataProtectionKeys.OrderBy(k => k.Id).Select(k => k.XmlSealed).ToList()
            .Select(sealedXml => XElement.Parse(protector.Unprotect(sealedXml))).ToList();
    }

    /// <inheritdoc />
    public void StoreElement(XElement element, string friendlyName)
    {
        using var db = storage.CreateContext();
        db.DataProtectionKeys.Add(new DataProtectionKeyRecord
        {
            FriendlyName = friendlyName,
            XmlSealed = protector.Protect(element.ToString(SaveOptions.DisableFormatting)),
            CreatedAt = time.GetUtcNow(),
        });
        db.SaveChanges();
    }
}
